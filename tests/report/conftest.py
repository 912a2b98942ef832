"""A small hand-built set of decision records whose report is worked out by hand.

Five records fall in the period ``T0 <= time < UNTIL``, one just before it and one exactly at
its end (both excluded). The expected figures in the tests are computed from the values here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

T0 = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = T0 + timedelta(days=2)
HAIKU, SONNET, OPUS = "claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"
FIRST = {"model": HAIKU, "status": 200, "kind": "first"}


def record(request_id: str, time: datetime, **fields: Any) -> DecisionRecord:
    values: dict[str, Any] = {"request_id": request_id, "time": time, "endpoint": "messages"}
    values.update({"status": 200, **fields})
    return DecisionRecord(**values)


def priced(cost: int, baseline: int) -> dict[str, int]:
    """Micro-dollar columns as the recorder fills them (savings = baseline - cost)."""
    return {
        "cost_micro_usd": cost,
        "baseline_cost_micro_usd": baseline,
        "savings_micro_usd": baseline - cost,
    }


def hand_records() -> list[DecisionRecord]:
    """The records the expected values in the tests are computed from."""
    h = timedelta(hours=1)
    return [
        record("r0-before", T0 - h, routed=True, chosen_tier="opus", served_model=OPUS,
               **priced(900_000, 900_000), decision_latency=9.0),
        record("r1", T0 + 9 * h, routed=True, chosen_tier="haiku", served_model=HAIKU,
               task_type="formatting", domain="frontend", user_tier="free", caller="app",
               **priced(1_000, 10_000), decision_latency=0.001, upstream_latency=0.1,
               total_latency=0.1015, attempts=(FIRST,), quality_score=1.0,
               requested_model="auto", chosen_model=HAIKU, reason="short formatting task"),
        record("r2", T0 + 10 * h, routed=True, chosen_tier="sonnet", served_model=SONNET,
               task_type="code", domain="backend", user_tier="paid", caller="app",
               **priced(4_000, 10_000), decision_latency=0.002, upstream_latency=0.2,
               attempts=(FIRST, {"model": SONNET, "status": 200, "kind": "escalation"}),
               quality_score=0.8),
        record("r3", T0 + 35 * h, routed=True, chosen_tier="haiku", served_model=HAIKU,
               task_type="formatting", domain="frontend", user_tier="free", caller="batch",
               **priced(2_000, 20_000), decision_latency=0.003, upstream_latency=0.3,
               attempts=(FIRST, {"model": HAIKU, "status": 200, "kind": "fallback"}),
               fell_back=True),
        record("r4", T0 + 36 * h, routed=False, served_model=OPUS, requested_model=OPUS,
               caller="batch", **priced(5_000, 5_000), upstream_latency=0.4,
               attempts=({"model": OPUS, "status": 200, "kind": "first"},)),
        record("r5", T0 + 37 * h, status=529, routed=True, chosen_tier="haiku",
               task_type="formatting", decision_latency=0.004, error_type="overloaded_error",
               attempts=({"model": HAIKU, "status": 529, "kind": "first"},)),
        record("r6-at-until", UNTIL, routed=True, chosen_tier="opus", served_model=OPUS,
               **priced(800_000, 800_000), decision_latency=8.0),
    ]  # fmt: skip


def open_store(url: str) -> Store:
    store = Store(url, busy_timeout=1.0)
    store.migrate()
    return store


@pytest.fixture
def sqlite_path(tmp_path: Path) -> str:
    return str(tmp_path / "tierwise.db")


@pytest.fixture
def sqlite_store(sqlite_path: str) -> Iterator[Store]:
    """A migrated, empty SQLite store."""
    with open_store(sqlite_path) as store:
        yield store


@pytest.fixture
def hand_store(sqlite_store: Store) -> Store:
    """The SQLite store holding ``hand_records()``."""
    sqlite_store.insert_many(hand_records())
    return sqlite_store
