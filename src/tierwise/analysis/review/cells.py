"""The evidence review and replay read: measures per task type, domain and tier, summed by SQL.

The measures are the report's own (``report.aggregate.measure_columns``): the same definition of
an escalation (a routed record with an ``escalation`` attempt) and of quality retention (the
mean quality score, 1.0 = as good as the baseline). One more count is added: *validated*
requests, routed ones whose answers were checked by the cascade's validators, so a tier with no
escalations because nothing was checked is not mistaken for a tier that passes its checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, func, select

from tierwise.analysis.report.aggregate import Measures, measure_columns, window
from tierwise.core.tiers import Tier
from tierwise.ledger.store.schema import decisions

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from tierwise.ledger.store import Store

__all__ = ["Cell", "Stats", "read_cells"]

_c = decisions.c


@dataclass(frozen=True, slots=True)
class Stats:
    """Additive measures of a set of records (cells sum into task-type totals)."""

    requests: int = 0
    routed: int = 0
    cost_micro: int = 0
    escalations: int = 0
    validated: int = 0
    quality_n: int = 0
    quality_sum: float = 0.0

    @classmethod
    def of(cls, m: Measures, validated: int) -> Stats:
        quality = (m.quality_mean or 0.0) * m.quality_scored
        return cls(
            m.requests, m.routed, m.cost_micro or 0, m.escalations, validated,
            m.quality_scored, quality,
        )  # fmt: skip

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.requests + other.requests,
            self.routed + other.routed,
            self.cost_micro + other.cost_micro,
            self.escalations + other.escalations,
            self.validated + other.validated,
            self.quality_n + other.quality_n,
            self.quality_sum + other.quality_sum,
        )

    @property
    def escalation_rate(self) -> float | None:
        """The report's definition: escalated share of routed requests."""
        return self.escalations / self.routed if self.routed else None

    @property
    def retention(self) -> float | None:
        """Mean quality score of the scored requests."""
        return self.quality_sum / self.quality_n if self.quality_n else None

    @property
    def pass_rate(self) -> float | None:
        """Share of validated requests whose first answer passed (did not escalate)."""
        if not self.validated:
            return None
        return max(self.validated - self.escalations, 0) / self.validated


@dataclass(frozen=True, slots=True)
class Cell:
    """The records of one task type, domain and chosen tier (``None``: records without one)."""

    task_type: str | None
    domain: str | None
    tier: Tier | None
    stats: Stats


def read_cells(
    store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> list[Cell]:
    """The cells of the routed Messages requests with ``since <= time < until``, most
    requests first. A store that does not exist yet reads as empty; never migrates."""
    where = [*window(since, until), _c.endpoint == "messages", _c.routed]
    with store.reading() as conn:
        return [] if conn is None else _query(conn, where)


def _query(conn: Connection, where: Sequence[ColumnElement[bool]]) -> list[Cell]:
    dialect = conn.dialect.name
    length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    validated = func.count().filter(and_(_c.routed, length(_c.validator_verdicts) > 0))
    keys = (_c.task_type, _c.domain, _c.chosen_tier)
    query = (
        select(*keys, *measure_columns(dialect), validated.label("validated"))
        .where(*where)
        .group_by(*keys)
    )
    cells = []
    for row in conn.execute(query):
        data = row._asdict()
        stats = Stats.of(Measures.from_row(data), int(data["validated"]))
        cells.append(Cell(row.task_type, row.domain, _tier(row.chosen_tier), stats))
    return sorted(cells, key=lambda c: (-c.stats.requests, c.task_type or "", c.domain or ""))


def _tier(name: str | None) -> Tier | None:
    try:
        return Tier(name) if name is not None else None
    except ValueError:
        return None
