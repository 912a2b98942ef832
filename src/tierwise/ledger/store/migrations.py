"""Versioned schema migrations: an ordered list of named functions, applied ones recorded.

Each migration is a function of one ``Connection`` that changes the schema a step; its name is
recorded in the ``tierwise_migrations`` table when it has run. ``migrate`` applies, in order,
the ones not recorded yet, all in one transaction, under a lock (PostgreSQL: an advisory lock;
SQLite: ``BEGIN IMMEDIATE``), so two proxies starting at once do not race. It is idempotent.

A migration describes its own columns and never imports ``schema.py``: the schema is the
current shape, a migration is a fixed step in history. To change the schema, append a
migration (``m002_...``) and update ``schema.py``; tests migrate an empty database on SQLite
and PostgreSQL and compare the result with ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql

from tierwise.ledger.store.schema import ExactDecimal, UTCDateTime, migrations

ADVISORY_LOCK = 0x7469_6572_7769_7365  # "tierwise": one migrator at a time on PostgreSQL


@dataclass(frozen=True, slots=True)
class Migration:
    """One named step of the schema's history."""

    name: str
    apply: Callable[[Connection], None]


def m001_decisions(conn: Connection) -> None:
    """The decision records: one row per request, unique on the request id."""
    json_list = JSON().with_variant(postgresql.JSONB(), "postgresql")
    key = BigInteger().with_variant(Integer(), "sqlite")
    table = Table(
        "tierwise_decisions",
        MetaData(),
        Column("id", key, primary_key=True, autoincrement=True),
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
        Column("trace", json_list, nullable=False),
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
        Column("attempts", json_list, nullable=False),
        Column("fell_back", Boolean(), nullable=False),
        Column("validator_verdicts", json_list, nullable=False),
        Column("quality_score", Double()),
        Column("prompt", Text()),
        Index("ix_tierwise_decisions_time", "time"),
    )
    table.create(conn)


def m002_routing_cost(conn: Connection) -> None:
    """The routing overhead (classifier and judge calls) apart from the request's total cost."""
    table = "tierwise_decisions"
    columns: tuple[Column[Any], ...] = (
        Column("routing_cost_usd", ExactDecimal()),
        Column("routing_cost_micro_usd", BigInteger()),
    )
    for column in columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"))


def m003_routing_inputs(conn: Connection) -> None:
    """What routing read besides the hints (prompt features, keyword evidence, body facts), so
    that ``tierwise replay`` can re-decide a request whose text was not kept."""
    column: Column[Any] = Column(
        "routing_inputs", JSON().with_variant(postgresql.JSONB(), "postgresql")
    )
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE tierwise_decisions ADD COLUMN {column.name} {kind}"))


def m004_shadow(conn: Connection) -> None:
    """Shadow evaluations: the baseline's answer judged against the routed one, and what the
    shadow and judge calls spent (summed for the shadow budget, so it holds across restarts)."""
    key = BigInteger().with_variant(Integer(), "sqlite")
    table = Table(
        "tierwise_shadow",
        MetaData(),
        Column("id", key, primary_key=True, autoincrement=True),
        Column("request_id", String(), nullable=False, unique=True),
        Column("time", UTCDateTime(), nullable=False),
        Column("task_type", String()),
        Column("routed_model", String(), nullable=False),
        Column("baseline_model", String(), nullable=False),
        Column("judge_model", String(), nullable=False),
        Column("verdict", String()),
        Column("quality_score", Double()),
        Column("routed_position", String()),
        Column("both_orders", Boolean(), nullable=False),
        Column("orders_disagree", Boolean()),
        Column("error", String()),
        Column("shadow_input_tokens", Integer()),
        Column("shadow_output_tokens", Integer()),
        Column("judge_input_tokens", Integer()),
        Column("judge_output_tokens", Integer()),
        Column("shadow_cost_micro_usd", BigInteger()),
        Column("judge_cost_micro_usd", BigInteger()),
        Index("ix_tierwise_shadow_time", "time"),
    )
    table.create(conn)


def m005_token_counts(conn: Connection) -> None:
    """The API's token count of the prompt beside the offline estimate (``context_tokens``), for
    requests near a context threshold: the estimate's error, measured."""
    column: Column[Any] = Column("counted_context_tokens", Integer())
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE tierwise_decisions ADD COLUMN {column.name} {kind}"))


def m006_sessions(conn: Connection) -> None:
    """An agent session's id, what it decided about switching models (``tool-loop-stay``,
    ``switch-pays``, ...) and the prompt-cache loss that switch paid or avoided."""
    columns: tuple[Column[Any], ...] = (
        Column("session_id", Text()),
        Column("switch_decision", Text()),
        Column("switch_cache_cost_micro_usd", Integer()),
    )
    for column in columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE tierwise_decisions ADD COLUMN {column.name} {kind}"))


def m007_budget_reservations(conn: Connection) -> None:
    """Budget spend and reservations per (scope, key, month): what the proxies reserve before
    sending and settle after, atomically, so one budget holds across processes."""
    table = Table(
        "tierwise_budget_reservations",
        MetaData(),
        Column("scope", String(), primary_key=True),
        Column("key", String(), primary_key=True),
        Column("month", String(), primary_key=True),
        Column("spent_micro_usd", BigInteger(), nullable=False),
        Column("reserved_micro_usd", BigInteger(), nullable=False),
    )
    table.create(conn)


def m008_usage_estimated(conn: Connection) -> None:
    """Whether a record's usage is tierwise's estimate: a stream that ended before the API's
    final counts is billed from the deltas it relayed."""
    column: Column[bool] = Column("usage_estimated", Boolean())
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE tierwise_decisions ADD COLUMN {column.name} {kind}"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration("m001_decisions", m001_decisions),
    Migration("m002_routing_cost", m002_routing_cost),
    Migration("m003_routing_inputs", m003_routing_inputs),
    Migration("m004_shadow", m004_shadow),
    Migration("m005_token_counts", m005_token_counts),
    Migration("m006_sessions", m006_sessions),
    Migration("m007_budget_reservations", m007_budget_reservations),
    Migration("m008_usage_estimated", m008_usage_estimated),
)


def applied(conn: Connection) -> list[str]:
    """Names of the migrations this database has recorded, oldest first."""
    if not inspect(conn).has_table(migrations.name):
        return []
    order = (migrations.c.applied_at, migrations.c.name)
    rows = conn.execute(select(migrations.c.name).order_by(*order))
    return [name for (name,) in rows]


def pending(conn: Connection) -> list[str]:
    """Names of the known migrations this database has not applied, in order."""
    done = set(applied(conn))
    return [m.name for m in MIGRATIONS if m.name not in done]


def unknown(conn: Connection) -> list[str]:
    """Applied migrations this version of tierwise does not know (a newer tierwise ran)."""
    known = {m.name for m in MIGRATIONS}
    return [name for name in applied(conn) if name not in known]


def migrate(conn: Connection) -> list[str]:
    """Apply the pending migrations in one transaction; the names applied (``[]`` if none).

    ``conn`` must not be in a transaction; on SQLite it should begin ``IMMEDIATE`` (the store
    arranges it) so that the check and the changes happen under one write lock.
    """
    with conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        migrations.create(conn, checkfirst=True)
        done = set(applied(conn))
        ran: list[str] = []
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            migration.apply(conn)
            conn.execute(
                migrations.insert().values(name=migration.name, applied_at=datetime.now(UTC))
            )
            ran.append(migration.name)
    return ran
