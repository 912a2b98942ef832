"""The ``tierwise_shadow`` table on SQLite and PostgreSQL: migrated from empty it is the
schema's, and the budget's spend windows sum what was recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tierwise.ledger.store import Store
from tierwise.ledger.store.schema import shadow
from tierwise.serving.shadow.ledger import Ledger, ShadowRow

NOW = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = str(tmp_path / "t.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with Store(url) as opened:
        opened.migrate()
        yield opened


def _row(request_id: str, when: datetime, shadow_micro: int, judge_micro: int) -> ShadowRow:
    return ShadowRow(
        request_id=request_id, time=when, task_type="convert", routed_model="h",
        baseline_model="o", judge_model="j", verdict="tie", quality_score=1.0,
        routed_position="A", both_orders=False, orders_disagree=None, error=None,
        shadow_input_tokens=10, shadow_output_tokens=20, judge_input_tokens=30,
        judge_output_tokens=1, shadow_cost_micro_usd=shadow_micro,
        judge_cost_micro_usd=judge_micro,
    )  # fmt: skip


def test_the_migrated_table_is_the_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        inspector = inspect(conn)
        reflected = {c["name"]: c for c in inspector.get_columns(shadow.name)}
        assert list(reflected) == [c.name for c in shadow.columns]
        for column in shadow.columns:
            found = reflected[column.name]
            kind = found["type"].compile(dialect=conn.dialect)
            assert kind == column.type.compile(dialect=conn.dialect), column.name
            assert found["nullable"] == (column.nullable and not column.primary_key)
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(shadow.name)}
        assert indexes["ix_tierwise_shadow_time"] == ["time"]


def test_spend_is_summed_per_day_and_month_and_rows_round_trip(store: Store) -> None:
    ledger = Ledger(store)
    rows = [
        _row("today", NOW - timedelta(hours=1), 300, 20),
        _row("this-month", NOW - timedelta(days=3), 4_000, 500),
        _row("last-month", NOW - timedelta(days=40), 90_000, 9_000),
        replace(_row("failed", NOW, 700, 0), verdict=None, quality_score=None, error="x"),
    ]
    for row in rows:
        ledger.add(row)
    ledger.add(replace(rows[0], shadow_cost_micro_usd=1))  # the same request again: kept once
    assert ledger.spent(NOW) == (300 + 20 + 700, 300 + 20 + 4_000 + 500 + 700)
    assert ledger.rows() == rows
