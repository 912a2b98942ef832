"""``build_report``: read one period's records from the store and summarise them.

Every query runs in one read transaction, so the totals, breakdowns and recent decisions agree
with each other even while the recorder keeps writing. A store that does not exist yet (no
SQLite file, or no table) reads as empty: a report never creates or migrates a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

import tierwise.analysis.report.aggregate as aggregate
from tierwise.analysis.report.aggregate import BREAKDOWNS, EMPTY, Rollup
from tierwise.analysis.report.alerts import AlertThresholds, evaluate
from tierwise.analysis.report.percentiles import Percentiles, latency_percentiles
from tierwise.analysis.report.period import covered_days
from tierwise.analysis.report.shadow import ShadowSummary, shadow_summary
from tierwise.analysis.report.summary import Group, Report
from tierwise.core.errors import InputError
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store.schema import decisions

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from tierwise.ledger.store import Store

__all__ = ["TOP_TASK_TYPES", "build_report"]

TOP_TASK_TYPES = 20  # the task types listed, by request count
# what the recent decisions show; columns of the first schema version only, so a store not yet
# migrated by a newer tierwise can still be reported on (a report never migrates)
RECENT_COLUMNS = (
    "time", "request_id", "endpoint", "status", "requested_model", "chosen_model",
    "chosen_tier", "served_model", "task_type", "reason", "cost_micro_usd",
    "baseline_cost_micro_usd", "total_latency",
)  # fmt: skip


def build_report(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str | None = None,
    thresholds: AlertThresholds | None = None,
    recent: int = 20,
) -> Report:
    """Summarise the records with ``since <= time < until`` (``until`` defaults to now).

    ``by`` names the breakdown in ``groups`` (one of ``BREAKDOWNS``); ``recent`` is how many of
    the newest decisions to list. ``InputError`` for a bad argument, ``StoreError`` when the
    store cannot be read.
    """
    generated_at = datetime.now(UTC)
    until = _aware(until, "until") if until is not None else generated_at
    since = _aware(since, "since") if since is not None else None
    if since is not None and since >= until:
        raise InputError(
            f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})"
        )
    if by is not None and by not in BREAKDOWNS:
        raise InputError(f"--by: unknown breakdown {by!r}; choose one of {', '.join(BREAKDOWNS)}")
    if recent < 0:
        raise InputError(f"recent must not be negative, got {recent}")
    thresholds = thresholds or AlertThresholds()
    where = aggregate.window(since, until)
    rolled = Rollup(EMPTY, {})
    overhead, upstream = Percentiles(), Percentiles()
    records: list[DecisionRecord] = []
    shadow: ShadowSummary | None = None
    with store.reading() as conn:
        if conn is not None:
            shadow = shadow_summary(conn, since, until)
            needed = ["day", "tier", "task-type", *([by] if by is not None else [])]
            rolled = aggregate.rollup(conn, needed, where)
        if conn is not None and rolled.totals.requests:
            overhead = latency_percentiles(conn, decisions.c.decision_latency, where)
            upstream = latency_percentiles(conn, decisions.c.upstream_latency, where)
            records = _recent(conn, where, recent)
    totals = rolled.totals

    def groups(name: str) -> tuple[Group, ...]:
        return tuple(Group(key, measures) for key, measures in rolled.groups.get(name, []))

    return Report(
        generated_at=generated_at,
        since=since,
        until=until,
        store=store.display,
        totals=totals,
        overhead=overhead,
        upstream=upstream,
        covered_days=covered_days(since, totals.first, until),
        by=by,
        groups=groups(by) if by is not None else (),
        daily=groups("day"),
        tier_mix=tuple(group for group in groups("tier") if group.key is not None),
        task_types=groups("task-type")[:TOP_TASK_TYPES],
        recent=tuple(records),
        shadow=shadow,
        alerts=evaluate(
            thresholds,
            quality_retention=totals.quality_mean,
            escalation_rate=totals.escalation_rate,
            overhead_p95_ms=overhead.p95,
        ),
    )


def _recent(
    conn: Connection, where: Sequence[ColumnElement[bool]], limit: int
) -> list[DecisionRecord]:
    if limit == 0:
        return []
    query = (
        select(*(decisions.c[name] for name in RECENT_COLUMNS))
        .where(*where)
        .order_by(decisions.c.time.desc(), decisions.c.id.desc())
        .limit(limit)
    )
    return [DecisionRecord.from_row(row._asdict()) for row in conn.execute(query)]


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise InputError(f"{name} must be timezone-aware (UTC)")
    return moment.astimezone(UTC)
