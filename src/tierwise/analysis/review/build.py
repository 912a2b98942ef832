"""``build_review``: the period's cells, their intervals, and the proposals for a policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tierwise.analysis.report.money import usd
from tierwise.analysis.report.stats import wilson
from tierwise.analysis.review.cells import Cell, read_cells
from tierwise.analysis.review.policy_file import proposal_toml
from tierwise.analysis.review.propose import Criteria, Proposal, propose
from tierwise.core.policy import Policy

if TYPE_CHECKING:
    from tierwise.ledger.store import Store

__all__ = ["Review", "build_review"]


@dataclass(frozen=True, slots=True)
class Review:
    """What ``tierwise review`` shows and writes."""

    generated_at: datetime
    since: datetime | None
    until: datetime
    policy: Policy
    criteria: Criteria
    cells: tuple[Cell, ...]
    proposals: tuple[Proposal, ...]

    @property
    def requests(self) -> int:
        return sum(cell.stats.requests for cell in self.cells)

    def toml(self, extends: str = "default") -> str:
        """The proposal as a policy file (``-o``) over ``extends``: "default" or the path of
        the reviewed policy file, as the proposal file will find it."""
        return proposal_toml(
            self.proposals,
            policy_source=self.policy.source,
            generated_at=self.generated_at,
            since=self.since,
            records=self.requests,
            criteria=self.criteria,
            extends=extends,
        )

    def cell_json(self, cell: Cell) -> dict[str, Any]:
        s, c = cell.stats, self.criteria
        escalation = wilson(s.escalation_rate or 0.0, s.routed, c.confidence)
        retention = wilson(s.retention or 0.0, s.quality_n, c.confidence)
        return {
            "task_type": cell.task_type,
            "domain": cell.domain,
            "tier": None if cell.tier is None else cell.tier.value,
            "requests": s.requests,
            "cost_usd": usd(s.cost_micro),
            "escalation_rate": None if escalation is None else escalation.as_json(),
            "validated": s.validated,
            "quality_retention": None if retention is None else retention.as_json(),
            "enough_samples": s.requests >= c.min_samples,
        }

    def as_json(self) -> dict[str, Any]:
        c = self.criteria
        return {
            "generated_at": self.generated_at.isoformat(),
            "period": {
                "since": None if self.since is None else self.since.isoformat(),
                "until": self.until.isoformat(),
            },
            "policy": self.policy.source,
            "criteria": {
                "min_samples": c.min_samples,
                "quality_target": c.target,
                "escalation_limit": c.escalation_limit,
                "confidence": c.confidence,
                "interval": "wilson",
            },
            "requests": self.requests,
            "cells": [self.cell_json(cell) for cell in self.cells],
            "proposals": [proposal.as_json() for proposal in self.proposals],
        }


def build_review(
    store: Store,
    policy: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    criteria: Criteria | None = None,
) -> Review:
    """Read the period's routed requests and propose changes to ``policy``'s routing table."""
    criteria = criteria or Criteria()
    generated = datetime.now(UTC)
    until = until or generated
    cells = read_cells(store, since=since, until=until)
    return Review(
        generated_at=generated,
        since=since,
        until=until,
        policy=policy,
        criteria=criteria,
        cells=tuple(cells),
        proposals=tuple(propose(cells, policy, criteria)),
    )
