"""The report's view of shadow evaluation: quality retention with a confidence interval, and
what the shadow and judge calls cost, kept apart from the routed traffic's cost.

Retention is the mean ``quality_score`` of the scored requests (1.0: as good as the baseline
model). Its interval is review's Wilson interval over the number of scores, conservative for a
mean of values in [0, 1]. The shadow spend is read from ``tierwise_shadow``; the routed
traffic's totals never include it (shadow calls answer nobody).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, inspect, select

from tierwise.analysis.report.aggregate import Measures
from tierwise.analysis.report.money import usd
from tierwise.analysis.report.stats import Interval, wilson
from tierwise.ledger.store.schema import shadow

__all__ = ["ShadowSummary", "retention", "shadow_summary"]

_s = shadow.c


@dataclass(frozen=True, slots=True)
class ShadowSummary:
    """Shadow evaluations of a period. Money in micro-dollars (``None``: nothing priced)."""

    evaluations: int
    judged: int  # evaluations with a verdict (and so a quality score)
    shadow_failures: int  # the baseline model gave no answer
    judge_failures: int  # the judge gave no verdict: the score stays empty
    both_orders: int  # judged in both orders
    disagreements: int  # ... whose two verdicts differ: position bias
    shadow_micro: int | None
    judge_micro: int | None

    @property
    def disagreement_rate(self) -> float | None:
        """Share of both-order comparisons where the judge's verdicts differ."""
        return self.disagreements / self.both_orders if self.both_orders else None

    @property
    def total_micro(self) -> int | None:
        if self.shadow_micro is None and self.judge_micro is None:
            return None
        return (self.shadow_micro or 0) + (self.judge_micro or 0)

    def as_json(self) -> dict[str, Any]:

        rate = self.disagreement_rate
        return {
            "evaluations": self.evaluations,
            "judged": self.judged,
            "shadow_failures": self.shadow_failures,
            "judge_failures": self.judge_failures,
            "both_orders": self.both_orders,
            "order_disagreements": self.disagreements,
            "position_disagreement_rate": None if rate is None else round(rate, 6),
            "shadow_cost_usd": usd(self.shadow_micro),
            "judge_cost_usd": usd(self.judge_micro),
            "total_cost_usd": usd(self.total_micro),
        }


def shadow_summary(
    conn: Connection, since: datetime | None, until: datetime | None
) -> ShadowSummary | None:
    """The period's shadow evaluations; ``None`` for a store without the table (not migrated)."""
    if not inspect(conn).has_table(shadow.name):
        return None
    query = select(
        func.count(),
        func.count(_s.verdict),
        func.count().filter(_s.error.like("shadow_error%")),
        func.count().filter(_s.error.like("judge_error%")),
        func.count().filter(_s.both_orders & _s.verdict.is_not(None)),
        func.count().filter(_s.orders_disagree),
        func.sum(_s.shadow_cost_micro_usd),
        func.sum(_s.judge_cost_micro_usd),
    )
    if since is not None:
        query = query.where(_s.time >= since)
    if until is not None:
        query = query.where(_s.time < until)
    row = conn.execute(query).one()
    counts = [int(value) for value in row[:6]]
    return ShadowSummary(*counts, *(None if v is None else int(v) for v in row[6:]))


def retention(measures: Measures) -> Interval | None:
    """Quality retention of a set of records and its Wilson interval (``None``: no scores)."""
    mean = measures.quality_mean
    return None if mean is None else wilson(mean, measures.quality_scored)
