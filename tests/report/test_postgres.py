"""The same report from PostgreSQL as from SQLite: SQL sums, ``jsonb`` escalations, days in
UTC and ``percentile_cont`` against the Python interpolation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tierwise.analysis.report import BREAKDOWNS, build_report
from tierwise.ledger.store import Store

from .conftest import T0, UNTIL, hand_records, open_store


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with open_store(pg_url) as store:
        store.insert_many(hand_records())
        yield store


def comparable(store: Store, **options: Any) -> dict[str, Any]:
    data = build_report(store, **options).as_json()
    del data["generated_at"]
    return data


@pytest.mark.parametrize("by", BREAKDOWNS)
def test_postgresql_report_equals_sqlite(pg_store: Store, hand_store: Store, by: str) -> None:
    options: dict[str, Any] = {"since": T0, "until": UNTIL, "by": by}
    on_postgres = comparable(pg_store, **options)
    assert on_postgres == comparable(hand_store, **options)
    assert on_postgres["totals"]["requests"] == 5
    assert on_postgres["totals"]["escalations"] == 1
    assert on_postgres["totals"]["overhead_ms"]["p95"] == pytest.approx(3.85)


def test_postgresql_without_since(pg_store: Store, hand_store: Store) -> None:
    assert comparable(pg_store, until=UNTIL) == comparable(hand_store, until=UNTIL)


def test_postgresql_empty_database(pg_url: str) -> None:
    with Store(pg_url) as store:  # not migrated: no table yet
        assert build_report(store, until=UNTIL).empty
