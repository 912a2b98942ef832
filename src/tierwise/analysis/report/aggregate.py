"""The report's numbers, summed by the database in one ``GROUP BY`` scan, never row by row.

Money is summed on the integer ``*_micro_usd`` columns, so totals are exact and the same on
SQLite and PostgreSQL. One query groups the period's records by every breakdown the report
needs at once (day, tier, task type and the ``--by`` key); each group's ``Measures`` are sums,
counts, minima and maxima, so the totals and each breakdown are rolled up from those few rows
exactly, without scanning the table again.

A record is *escalated* when any item of its ``attempts`` list has ``"kind": "escalation"``:
PostgreSQL answers with ``jsonb`` containment, SQLite with ``json_each`` (only on rows whose
text mentions the word at all, which keeps the scan cheap).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Label,
    String,
    and_,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from tierwise.core.errors import InputError
from tierwise.ledger.store.schema import decisions

__all__ = ["BREAKDOWNS", "EMPTY", "Measures", "Rollup", "combine", "rollup", "window"]

_c = decisions.c
SWITCHES = ("switch-pays", "upgrade")  # the session decisions that changed model

BREAKDOWNS: tuple[str, ...] = ("model", "tier", "task-type", "domain", "user-tier", "day", "caller")
_KEY_COLUMNS: Mapping[str, ColumnElement[Any]] = {
    "model": _c.served_model,  # the model that answered, and was billed
    "tier": _c.chosen_tier,
    "task-type": _c.task_type,
    "domain": _c.domain,
    "user-tier": _c.user_tier,
    "caller": _c.caller,
}


@dataclass(frozen=True, slots=True)
class Measures:
    """What SQL sums over a set of records. Money in whole micro-dollars; ``None`` when no
    record of the set carries that amount."""

    requests: int
    routed: int
    errors: int
    priced: int  # records with a cost
    cost_micro: int | None
    baselined: int  # records with a baseline cost
    baseline_micro: int | None
    savings_micro: int | None
    savings_base_micro: int | None  # the baseline cost of the records that have savings
    quality_scored: int
    quality_sum: float | None
    escalations: int  # routed records with an escalation attempt
    fallbacks: int
    first: datetime | None
    last: datetime | None
    prompt_tokens: int | None = None  # input + cache writes + cache reads, summed
    cache_read_tokens: int | None = None
    switches: int = 0  # session model changes taken (a switch that pays, an upgrade)
    switch_cache_micro: int | None = None  # the cache loss those switches paid
    cache_stays: int = 0  # new instructions kept on their model because a switch would not pay

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Measures:
        return cls(
            requests=int(row["requests"]),
            routed=int(row["routed"]),
            errors=int(row["errors"]),
            priced=int(row["priced"]),
            cost_micro=_int(row["cost"]),
            baselined=int(row["baselined"]),
            baseline_micro=_int(row["baseline"]),
            savings_micro=_int(row["savings"]),
            savings_base_micro=_int(row["savings_base"]),
            quality_scored=int(row["quality_scored"]),
            quality_sum=None if row["quality_sum"] is None else float(row["quality_sum"]),
            escalations=int(row["escalations"]),
            fallbacks=int(row["fallbacks"]),
            first=row["first"],
            last=row["last"],
            prompt_tokens=_int(row["prompt_tokens"]),
            cache_read_tokens=_int(row["cache_read_tokens"]),
            switches=int(row["switches"]),
            switch_cache_micro=_int(row["switch_cache"]),
            cache_stays=int(row["cache_stays"]),
        )

    @property
    def cache_read_share(self) -> float | None:
        """The share of prompt tokens read from the prompt cache (what a switch throws away)."""
        if self.cache_read_tokens is None or not self.prompt_tokens:
            return None
        return self.cache_read_tokens / self.prompt_tokens

    @property
    def quality_mean(self) -> float | None:
        """Mean quality score of the scored records."""
        if self.quality_sum is None or not self.quality_scored:
            return None
        return self.quality_sum / self.quality_scored

    @property
    def savings_pct(self) -> float | None:
        """Savings as a share of what the same requests would have cost on the baseline."""
        if self.savings_micro is None or not self.savings_base_micro:
            return None
        return self.savings_micro / self.savings_base_micro

    @property
    def cost_per_task_micro(self) -> Decimal | None:
        """Mean cost of a priced request (a request nothing was billed for is no task done)."""
        return _mean(self.cost_micro, self.priced)

    @property
    def baseline_cost_per_task_micro(self) -> Decimal | None:
        return _mean(self.baseline_micro, self.baselined)

    @property
    def escalation_rate(self) -> float | None:
        return self.escalations / self.routed if self.routed else None

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.requests if self.requests else None


EMPTY = Measures(0, 0, 0, 0, None, 0, None, None, None, 0, None, 0, 0, None, None)


def combine(parts: Iterable[Measures]) -> Measures:
    """The measures of the union of disjoint sets of records (exact: sums, counts, min, max)."""
    items = list(parts)
    if not items:
        return EMPTY
    qualities = [m.quality_sum for m in items if m.quality_sum is not None]
    return Measures(
        requests=sum(m.requests for m in items),
        routed=sum(m.routed for m in items),
        errors=sum(m.errors for m in items),
        priced=sum(m.priced for m in items),
        cost_micro=_sum(m.cost_micro for m in items),
        baselined=sum(m.baselined for m in items),
        baseline_micro=_sum(m.baseline_micro for m in items),
        savings_micro=_sum(m.savings_micro for m in items),
        savings_base_micro=_sum(m.savings_base_micro for m in items),
        quality_scored=sum(m.quality_scored for m in items),
        quality_sum=math.fsum(qualities) if qualities else None,
        escalations=sum(m.escalations for m in items),
        fallbacks=sum(m.fallbacks for m in items),
        first=min((m.first for m in items if m.first is not None), default=None),
        last=max((m.last for m in items if m.last is not None), default=None),
        prompt_tokens=_sum(m.prompt_tokens for m in items),
        cache_read_tokens=_sum(m.cache_read_tokens for m in items),
        switches=sum(m.switches for m in items),
        switch_cache_micro=_sum(m.switch_cache_micro for m in items),
        cache_stays=sum(m.cache_stays for m in items),
    )


Groups = list[tuple[str | None, Measures]]


@dataclass(frozen=True, slots=True)
class Rollup:
    """The totals of a period and its breakdowns, each ordered for display: most requests
    first (``None``, records without a value, after the others of the same size), days in
    calendar order."""

    totals: Measures
    groups: Mapping[str, Groups]


def rollup(
    conn: Connection, breakdowns: Sequence[str], conditions: Sequence[ColumnElement[bool]]
) -> Rollup:
    """Totals and one list of groups per name in ``breakdowns`` (from ``BREAKDOWNS``), from a
    single scan of the records matching ``conditions``."""
    names = list(dict.fromkeys(breakdowns))
    dialect = conn.dialect.name
    keys = [key_column(name, dialect).label(f"key_{i}") for i, name in enumerate(names)]
    query = select(*keys, *measure_columns(dialect)).where(*conditions).group_by(*keys)
    cells: list[tuple[tuple[str | None, ...], Measures]] = []
    for row in conn.execute(query):
        values = row._asdict()
        cells.append(
            (tuple(_key(values[f"key_{i}"]) for i in range(len(names))), Measures.from_row(values))
        )
    groups: dict[str, Groups] = {}
    for index, name in enumerate(names):
        parts: dict[str | None, list[Measures]] = {}
        for key, measures in cells:
            parts.setdefault(key[index], []).append(measures)
        merged = [(key, combine(items)) for key, items in parts.items()]
        groups[name] = _ordered(name, merged)
    return Rollup(combine(m for _, m in cells), groups)


def window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """The conditions ``since <= time < until`` (the time index serves them)."""
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(_c.time >= since)
    if until is not None:
        conditions.append(_c.time < until)
    return conditions


def escalated(dialect: str) -> ColumnElement[bool]:
    """True for a record whose attempts include an escalation."""
    if dialect == "postgresql":
        pattern: ColumnElement[Any] = literal_column("""'[{"kind": "escalation"}]'::jsonb""")
        return _c.attempts.op("@>", return_type=Boolean())(pattern)
    items = func.json_each(_c.attempts).table_valued("value")
    kind = func.json_extract(items.c.value, "$.kind")
    exact = select(literal(1)).select_from(items).where(kind == "escalation").exists()
    return and_(func.instr(_c.attempts, "escalation") > 0, exact)


def measure_columns(dialect: str) -> list[Label[Any]]:
    """The aggregate columns ``Measures.from_row`` reads."""
    prompt = (
        _c.input_tokens + _c.cache_write_5m_tokens + _c.cache_write_1h_tokens + _c.cache_read_tokens
    )
    switched = _c.switch_decision.in_(SWITCHES)
    return [
        func.count().label("requests"),
        func.count().filter(_c.routed).label("routed"),
        func.count().filter(_c.status >= 400).label("errors"),
        func.count(_c.cost_micro_usd).label("priced"),
        func.sum(_c.cost_micro_usd).label("cost"),
        func.count(_c.baseline_cost_micro_usd).label("baselined"),
        func.sum(_c.baseline_cost_micro_usd).label("baseline"),
        func.sum(_c.savings_micro_usd).label("savings"),
        func.sum(_c.baseline_cost_micro_usd)
        .filter(_c.savings_micro_usd.is_not(None))
        .label("savings_base"),
        func.count(_c.quality_score).label("quality_scored"),
        func.sum(_c.quality_score).label("quality_sum"),
        func.count().filter(and_(_c.routed, escalated(dialect))).label("escalations"),
        func.count().filter(_c.fell_back).label("fallbacks"),
        func.min(_c.time).label("first"),
        func.max(_c.time).label("last"),
        func.sum(prompt).label("prompt_tokens"),
        func.sum(_c.cache_read_tokens).filter(prompt.is_not(None)).label("cache_read_tokens"),
        func.count().filter(switched).label("switches"),
        func.sum(_c.switch_cache_cost_micro_usd).filter(switched).label("switch_cache"),
        func.count().filter(_c.switch_decision == "stay-cache-loss").label("cache_stays"),
    ]


def key_column(by: str, dialect: str) -> ColumnElement[Any]:
    """The expression a breakdown groups on; ``InputError`` for an unknown one."""
    if by == "day":  # the UTC calendar day
        if dialect == "postgresql":
            return cast(func.timezone("UTC", _c.time), Date)
        return func.date(_c.time, type_=String())
    column = _KEY_COLUMNS.get(by)
    if column is None:
        raise InputError(f"--by: unknown breakdown {by!r}; choose one of {', '.join(BREAKDOWNS)}")
    return column


def _ordered(name: str, groups: Groups) -> Groups:
    if name == "day":
        return sorted(groups, key=lambda item: item[0] or "")
    return sorted(groups, key=lambda item: (-item[1].requests, item[0] is None, item[0] or ""))


def _key(value: Any) -> str | None:
    return None if value is None else str(value)  # a PostgreSQL date: its ISO form


def _int(value: Any) -> int | None:
    return None if value is None else int(value)  # PostgreSQL sums bigints as numeric


def _sum(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _mean(total_micro: int | None, count: int) -> Decimal | None:
    return None if total_micro is None or count == 0 else Decimal(total_micro) / count
