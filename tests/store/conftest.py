"""Fixtures for the store's tests: a SQLite file per test, and a database on the private
PostgreSQL server (``pg_cluster`` and ``pg_url`` are in ``tests/conftest.py``, shared with the
report's tests; see ``pgcluster``). Tests may stop and start the server; ``pg_url`` starts it
again if a test leaves it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

BACKENDS = ("sqlite", "postgresql")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "db" / "tierwise.db")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh empty database on each backend in turn."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated, empty store on each backend in turn."""
    with Store(store_url, busy_timeout=1.0) as opened:
        opened.migrate()
        yield opened


RecordFactory = Callable[..., DecisionRecord]


@pytest.fixture
def make_record() -> RecordFactory:
    """Records with unique request ids, one second apart (override any field by keyword)."""
    counter = iter(range(1_000_000))

    def make(**fields: object) -> DecisionRecord:
        n = next(counter)
        values: dict[str, object] = {
            "request_id": f"req_test_{n:06d}",
            "time": T0 + timedelta(seconds=n),
            "endpoint": "messages",
            "status": 200,
        }
        values.update(fields)
        return DecisionRecord(**values)  # type: ignore[arg-type]

    return make
