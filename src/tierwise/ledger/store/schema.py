"""The store's tables, defined once for SQLite and PostgreSQL (SQLAlchemy Core).

This is the current shape of the schema, which queries are written against. The migrations
(``migrations.py``) build it step by step from an empty database; a test checks that migrating
from empty gives exactly these columns on both backends.

Three column types smooth over the backends' differences:

* ``UTCDateTime``: timezone-aware UTC in and out (``timestamptz`` on PostgreSQL; an ISO string
  on SQLite, which sorts and compares correctly).
* ``ExactDecimal``: money without rounding (an unconstrained ``numeric`` on PostgreSQL; the
  decimal's exact text on SQLite, which has no exact numeric type). The ``*_micro_usd``
  integer columns beside each amount are what SQL sums.
* ``json_list()``: ``jsonb`` on PostgreSQL, JSON text on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

DECISIONS = "tierwise_decisions"
MIGRATIONS = "tierwise_migrations"
SHADOW = "tierwise_shadow"
BUDGET_RESERVATIONS = "tierwise_budget_reservations"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime``; naive values are refused (their zone is unknown)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            if value.tzinfo is None:
                raise ValueError("naive datetime: give times in UTC (datetime.now(UTC))")
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` stored without rounding: ``numeric`` on PostgreSQL, text on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.NUMERIC(asdecimal=True))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"an amount must be a finite Decimal, not {value!r}")
        return value if dialect.name == "postgresql" else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


def json_list() -> TypeEngine[Any]:
    """JSON (a list of objects): ``jsonb`` on PostgreSQL, text on SQLite."""
    return JSON().with_variant(postgresql.JSONB(), "postgresql")


def identity_key() -> TypeEngine[int]:
    """A 64-bit auto-incrementing key (``bigserial``; SQLite's ``INTEGER PRIMARY KEY``)."""
    return BigInteger().with_variant(Integer(), "sqlite")


metadata = MetaData()

decisions = Table(
    DECISIONS,
    metadata,
    Column("id", identity_key(), primary_key=True, autoincrement=True),
    Column("request_id", String(), nullable=False, unique=True),
    Column("time", UTCDateTime(), nullable=False),
    Column("endpoint", String(), nullable=False),
    Column("status", Integer(), nullable=False),
    Column("stream", Boolean(), nullable=False),
    Column("error_type", String()),
    Column("conversation_key", String()),
    Column("caller", String()),
    Column("user_id", String()),
    Column("task_type", String()),
    Column("domain", String()),
    Column("user_tier", String()),
    Column("hint_task_type", String()),
    Column("requested_model", String()),
    Column("chosen_model", String()),
    Column("chosen_tier", String()),
    Column("served_model", String()),
    Column("routed", Boolean(), nullable=False),
    Column("pinned", Boolean(), nullable=False),
    Column("reason", Text()),
    Column("trace", json_list(), nullable=False),
    Column("score", Double()),
    Column("policy_fingerprint", String()),
    Column("context_tokens", Integer()),
    Column("turns", Integer()),
    Column("input_tokens", Integer()),
    Column("cache_write_5m_tokens", Integer()),
    Column("cache_write_1h_tokens", Integer()),
    Column("cache_read_tokens", Integer()),
    Column("output_tokens", Integer()),
    Column("thinking_tokens", Integer()),
    Column("cost_usd", ExactDecimal()),
    Column("cost_micro_usd", BigInteger()),
    Column("baseline_model", String()),
    Column("baseline_cost_usd", ExactDecimal()),
    Column("baseline_cost_micro_usd", BigInteger()),
    Column("savings_usd", ExactDecimal()),
    Column("savings_micro_usd", BigInteger()),
    Column("decision_latency", Double()),
    Column("upstream_latency", Double()),
    Column("ttfb", Double()),
    Column("total_latency", Double()),
    Column("attempts", json_list(), nullable=False),
    Column("fell_back", Boolean(), nullable=False),
    Column("validator_verdicts", json_list(), nullable=False),
    Column("quality_score", Double()),
    Column("prompt", Text()),
    Column("routing_cost_usd", ExactDecimal()),  # m002: the classifier's and judges' share
    Column("routing_cost_micro_usd", BigInteger()),
    Column("routing_inputs", json_list()),  # m003: what replay re-decides from
    Column("counted_context_tokens", Integer()),  # m005: the API's count beside the estimate
    Column("session_id", Text()),  # m006: the agent session, its switch decision and cache loss
    Column("switch_decision", Text()),
    Column("switch_cache_cost_micro_usd", Integer()),
    Column("usage_estimated", Boolean()),  # m008: usage counted from a stream cut short
    Index("ix_tierwise_decisions_time", "time"),
)

shadow = Table(  # m004: shadow evaluations (one per sampled request), their verdict and spend
    SHADOW,
    metadata,
    Column("id", identity_key(), primary_key=True, autoincrement=True),
    Column("request_id", String(), nullable=False, unique=True),
    Column("time", UTCDateTime(), nullable=False),
    Column("task_type", String()),
    Column("routed_model", String(), nullable=False),
    Column("baseline_model", String(), nullable=False),
    Column("judge_model", String(), nullable=False),
    Column("verdict", String()),  # routed | baseline | tie | split; NULL when none was reached
    Column("quality_score", Double()),
    Column("routed_position", String()),  # A | B: where the routed answer was shown first
    Column("both_orders", Boolean(), nullable=False),
    Column("orders_disagree", Boolean()),  # only when both orders were asked
    Column("error", String()),  # why there is no verdict: shadow_error | judge_error: ...
    Column("shadow_input_tokens", Integer()),
    Column("shadow_output_tokens", Integer()),
    Column("judge_input_tokens", Integer()),
    Column("judge_output_tokens", Integer()),
    Column("shadow_cost_micro_usd", BigInteger()),
    Column("judge_cost_micro_usd", BigInteger()),
    Index("ix_tierwise_shadow_time", "time"),
)

budget_reservations = Table(  # m007: per (scope, key, UTC month "YYYY-MM"), in micro-dollars
    BUDGET_RESERVATIONS,
    metadata,
    Column("scope", String(), primary_key=True),  # caller | user
    Column("key", String(), primary_key=True),
    Column("month", String(), primary_key=True),
    Column("spent_micro_usd", BigInteger(), nullable=False),  # settled: the real costs
    Column("reserved_micro_usd", BigInteger(), nullable=False),  # estimates of requests in flight
)

migrations = Table(
    MIGRATIONS,
    metadata,
    Column("name", String(), primary_key=True),
    Column("applied_at", UTCDateTime(), nullable=False),
)

RECORD_COLUMNS = tuple(c.name for c in decisions.columns if c.name != "id")
