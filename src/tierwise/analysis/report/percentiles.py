"""Latency percentiles with linear interpolation, the same numbers on both backends.

PostgreSQL computes them in the database (``percentile_cont``). SQLite has no percentile
function: it numbers the sorted values (``row_number()``) and returns only the two neighbours
of each percentile's position, which are interpolated here with PostgreSQL's formula
(``lo + (hi - lo) * fraction`` at position ``q * (n - 1)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["QUANTILES", "Percentiles", "interpolate", "latency_percentiles"]

QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class Percentiles:
    """p50/p95/p99 in milliseconds (``None``: no record measured it)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    def as_json(self) -> dict[str, float | None]:
        return {
            "p50": _ms(self.p50),
            "p95": _ms(self.p95),
            "p99": _ms(self.p99),
        }


def interpolate(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of ascending ``ordered`` values, as PostgreSQL's ``percentile_cont``."""
    if not ordered:
        return None
    low, high, fraction = _neighbours(len(ordered), q)
    return _lerp(ordered[low], ordered[high], fraction)


def latency_percentiles(
    conn: Connection, seconds: ColumnElement[Any], conditions: Sequence[ColumnElement[bool]]
) -> Percentiles:
    """Percentiles of a latency column (seconds in the store) over the matching records, in ms."""
    if conn.dialect.name == "postgresql":
        columns = [func.percentile_cont(q).within_group(seconds) for q in QUANTILES]
        values = list(conn.execute(select(*columns).where(*conditions)).one())
    else:
        values = _sqlite_percentiles(conn, seconds, conditions)
    p50, p95, p99 = (None if v is None else float(v) * 1000 for v in values)
    return Percentiles(p50, p95, p99)


def _sqlite_percentiles(
    conn: Connection, seconds: ColumnElement[Any], conditions: Sequence[ColumnElement[bool]]
) -> list[float | None]:
    measured = [*conditions, seconds.is_not(None)]
    count = int(conn.execute(select(func.count()).where(*measured)).scalar_one())
    if count == 0:
        return [None for _ in QUANTILES]
    spots = [_neighbours(count, q) for q in QUANTILES]
    wanted = sorted({i + 1 for low, high, _ in spots for i in (low, high)})  # 1-based ranks
    rank = func.row_number().over(order_by=seconds).label("rank")
    numbered = select(seconds.label("value"), rank).where(*measured).subquery()
    query = select(numbered.c.rank, numbered.c.value).where(numbered.c.rank.in_(wanted))
    found = {int(r): float(v) for r, v in conn.execute(query)}
    return [_lerp(found[low + 1], found[high + 1], fraction) for low, high, fraction in spots]


def _neighbours(count: int, q: float) -> tuple[int, int, float]:
    """The 0-based indexes around position ``q * (count - 1)`` and the fraction between."""
    position = q * (count - 1)
    low = math.floor(position)
    return low, min(low + 1, count - 1), position - low


def _lerp(low: float, high: float, fraction: float) -> float:
    return low + (high - low) * fraction


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
