"""Reservations in the shared store: all or nothing, settled, seeded, and no error on a fresh
database (the guard migrates before its first read)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierwise.budgets.estimate import estimate_micro
from tierwise.budgets.guard import BudgetGuard
from tierwise.budgets.ledger import Key
from tierwise.budgets.reservations import LocalReservations, StoreReservations
from tierwise.budgets.steps import month_start
from tierwise.core.budget_config import BudgetsConfig, BudgetScope
from tierwise.core.policy import load_policy
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter, Routed

MONTH = (2026, 3)
CI: Key = ("caller", "ci")
ACME: Key = ("user", "acme")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "db" / "tierwise.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def reservations(db: str) -> Iterator[StoreReservations]:
    from tierwise.ledger.store import Store

    with Store(db) as store:
        store.migrate()
        yield StoreReservations(store, month_start)


def _row(reservations: StoreReservations, key: Key) -> tuple[int, int]:
    from sqlalchemy import select

    from tierwise.ledger.store.schema import budget_reservations as rows

    query = select(rows.c.spent_micro_usd, rows.c.reserved_micro_usd).where(
        rows.c.scope == key[0], rows.c.key == key[1], rows.c.month == "2026-03"
    )
    with reservations.store.engine.connect() as conn:
        found = conn.execute(query).one()
    return int(found[0]), int(found[1])


def test_a_reservation_fits_or_is_refused_and_settles(reservations: StoreReservations) -> None:
    assert reservations.reserve(MONTH, [(CI, 100)], 60) is None
    refused = reservations.reserve(MONTH, [(CI, 100)], 50)
    assert refused is not None
    assert (refused.spent, refused.reserved) == (0, 60)
    reservations.settle(MONTH, [CI], 60, 25)  # the real cost was lower
    assert _row(reservations, CI) == (25, 0)
    assert reservations.reserve(MONTH, [(CI, 100)], 75) is None  # exactly the cap fits
    assert reservations.reserve(MONTH, [(CI, 100)], 1) is not None


def test_all_budgets_or_none(reservations: StoreReservations) -> None:
    assert reservations.reserve(MONTH, [(CI, 1000), (ACME, 10)], 20) is not None
    assert _row(reservations, CI) == (0, 0)  # rolled back with the user's refusal
    assert reservations.reserve(MONTH, [(CI, 1000), (ACME, 100)], 20) is None
    assert _row(reservations, CI) == (0, 20)
    assert _row(reservations, ACME) == (0, 20)
    reservations.settle(MONTH, [CI, ACME], 20, 0)  # a failure: released
    assert _row(reservations, CI) == (0, 0)
    assert _row(reservations, ACME) == (0, 0)


def test_a_charge_without_reservation_adds_its_cost(reservations: StoreReservations) -> None:
    reservations.settle(MONTH, [ACME], 0, 30)  # the library client's calls: recorded only
    assert _row(reservations, ACME) == (30, 0)


def test_a_new_row_starts_from_the_months_records(reservations: StoreReservations) -> None:
    from tierwise.ledger.store.schema import decisions

    row = {"time": datetime(2026, 3, 2, tzinfo=UTC), "caller": "ci", "cost_micro_usd": 40}
    earlier = {**row, "time": datetime(2026, 2, 27, tzinfo=UTC), "cost_micro_usd": 500}
    with reservations.store.engine.connect() as conn, conn.begin():
        for index, values in enumerate((row, earlier)):
            conn.execute(
                decisions.insert().values(
                    request_id=f"r{index}",
                    endpoint="messages",
                    status=200,
                    stream=False,
                    routed=True,
                    pinned=False,
                    trace=[],
                    attempts=[],
                    fell_back=False,
                    validator_verdicts=[],
                    **values,
                )
            )
    refused = reservations.reserve(MONTH, [(CI, 100)], 61)
    assert refused is not None
    assert refused.spent == 40


def test_local_reservations_count_the_requests_in_flight() -> None:
    spent = {CI: 50}
    local = LocalReservations(lambda key: spent.get(key, 0))
    assert local.reserve(MONTH, [(CI, 100)], 30) is None
    assert local.reserve(MONTH, [(CI, 100)], 30) is not None
    local.settle(MONTH, [CI], 30, 10)
    assert local.reserve(MONTH, [(CI, 100)], 50) is None


def test_the_estimate_is_the_prompt_plus_max_tokens() -> None:
    router = MessagesRouter(Router(load_policy(None)))
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hello"}],
    }
    routed: Routed = router.route(body, Hints())
    full = estimate_micro(routed)
    capped = estimate_micro(routed, output_cap=100)
    assert full > capped > 0


def test_a_fresh_database_logs_no_error_at_start(db: str, caplog: pytest.LogCaptureFixture) -> None:
    from tierwise.ledger.store import Store

    config = BudgetsConfig(callers=BudgetScope(limits={"ci": 1.0}))
    with Store(db) as store:
        guard = BudgetGuard(config, store)
        with caplog.at_level(logging.INFO, logger="tierwise.budgets"):
            guard.start()
            guard.close()
        assert guard.refreshed_at is not None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
