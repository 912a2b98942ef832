"""Proposed routing-table changes, each with the evidence behind it. Nothing is applied.

For each task type in the policy's routing table, at its route's tier S:

* **upgrade** to the next enabled tier when, over at least ``min_samples`` requests at S, the
  escalation rate is above ``escalation_limit`` (the report's alert, 20 %), or quality retention
  is below ``target`` (1 − the report's 5 % quality-drop alert);
* otherwise **downgrade** to the next cheaper enabled tier C when the requests of that task type
  that *were* served at C (under a ceiling, an older policy, or as the first step of an
  escalation) meet the target: their quality retention over at least ``min_samples`` scores,
  or else the share of their validated answers that passed, over at least ``min_samples``.

A proposal is *strong* when the whole Wilson interval is on its side of the threshold, else
*tentative*: the point estimate crossed it, the interval does not rule out the opposite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tierwise.analysis.report.stats import Interval, wilson
from tierwise.analysis.review.cells import Cell, Stats
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy
from tierwise.core.policy_schema import Route
from tierwise.core.tiers import Tier

__all__ = ["Criteria", "Proposal", "propose", "totals_by_task_and_tier"]

Direction = Literal["upgrade", "downgrade"]


@dataclass(frozen=True, slots=True)
class Criteria:
    """When review proposes a change."""

    min_samples: int = 30
    target: float = 0.95  # quality retention a tier must keep (1 - the alert's 5 % drop)
    escalation_limit: float = 0.20  # the report's escalation alert
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.min_samples < 1:
            raise InputError(f"--min-samples must be at least 1, got {self.min_samples}")
        if not 0 < self.target <= 1:
            raise InputError(f"--target must be in (0, 1], got {self.target}")
        if not 0 <= self.escalation_limit <= 1:
            raise InputError(
                f"--escalation-limit must be between 0 and 1, got {self.escalation_limit}"
            )
        if not 0 < self.confidence < 1:
            raise InputError(f"--confidence must be between 0 and 1, got {self.confidence}")


@dataclass(frozen=True, slots=True)
class Proposal:
    """One routing-table change and why."""

    task_type: str
    direction: Direction
    current: Tier
    proposed: Tier
    route: Route  # the current route with the proposed tier
    evidence: tuple[str, ...]
    strong: bool
    measures: dict[str, Interval]

    def as_json(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "direction": self.direction,
            "current_tier": self.current.value,
            "proposed_tier": self.proposed.value,
            "strength": "strong" if self.strong else "tentative",
            "evidence": list(self.evidence),
            "measures": {name: i.as_json() for name, i in self.measures.items()},
        }


def totals_by_task_and_tier(cells: Iterable[Cell]) -> dict[tuple[str, Tier], Stats]:
    """Cells summed over domains: (task type, tier) → stats."""
    totals: dict[tuple[str, Tier], Stats] = defaultdict(Stats)
    for cell in cells:
        if cell.task_type is not None and cell.tier is not None:
            key = (cell.task_type, cell.tier)
            totals[key] = totals[key] + cell.stats
    return totals


def propose(cells: Iterable[Cell], policy: Policy, criteria: Criteria) -> list[Proposal]:
    """The proposals for ``policy``'s routing table from ``cells``, by task type."""
    totals = totals_by_task_and_tier(cells)
    ladder = policy.ladder
    proposals = []
    for task_type, route in sorted(policy.config.routes.items()):
        here = totals.get((task_type, route.tier), Stats())
        proposal = _upgrade(task_type, route, here, ladder, criteria)
        if proposal is None:
            below = _neighbour(route.tier, ladder, up=False)
            if below is not None:
                cheaper = totals.get((task_type, below), Stats())
                proposal = _downgrade(task_type, route, below, cheaper, criteria)
        if proposal is not None:
            proposals.append(proposal)
    return proposals


def _upgrade(
    task_type: str, route: Route, here: Stats, ladder: list[Tier], criteria: Criteria
) -> Proposal | None:
    above = _neighbour(route.tier, ladder, up=True)
    if above is None:
        return None
    evidence: list[str] = []
    strong = False
    measures: dict[str, Interval] = {}
    rate = here.escalation_rate
    if rate is not None and here.routed >= criteria.min_samples:
        interval = wilson(rate, here.routed, criteria.confidence)
        assert interval is not None
        measures["escalation_rate"] = interval
        if rate > criteria.escalation_limit:
            evidence.append(
                f"escalation at {route.tier.value}: {interval.describe()} of routed requests, "
                f"above {criteria.escalation_limit:.0%}"
            )
            strong = strong or interval.low > criteria.escalation_limit
    retention = here.retention
    if retention is not None and here.quality_n >= criteria.min_samples:
        interval = wilson(retention, here.quality_n, criteria.confidence)
        assert interval is not None
        measures["quality_retention"] = interval
        if retention < criteria.target:
            evidence.append(
                f"quality retention at {route.tier.value}: {interval.describe()} scored, "
                f"below the {criteria.target:.0%} target"
            )
            strong = strong or interval.high < criteria.target
    if not evidence:
        return None
    return Proposal(
        task_type, "upgrade", route.tier, above, route.model_copy(update={"tier": above}),
        tuple(evidence), strong, measures,
    )  # fmt: skip


def _downgrade(
    task_type: str, route: Route, below: Tier, cheaper: Stats, criteria: Criteria
) -> Proposal | None:
    retention = cheaper.retention
    if retention is not None and cheaper.quality_n >= criteria.min_samples:
        interval = wilson(retention, cheaper.quality_n, criteria.confidence)
        what = "quality retention"
    elif cheaper.pass_rate is not None and cheaper.validated >= criteria.min_samples:
        interval = wilson(cheaper.pass_rate, cheaper.validated, criteria.confidence)
        what = "validated answers that passed"
    else:
        return None
    assert interval is not None
    if interval.value < criteria.target:
        return None
    evidence = [
        f"{what} at {below.value} for {task_type}: {interval.describe()}, "
        f"meets the {criteria.target:.0%} target"
    ]
    rate = cheaper.escalation_rate
    if rate is not None and cheaper.validated and rate > criteria.escalation_limit:
        return None  # answers there escalate too often, whatever their scores
    return Proposal(
        task_type, "downgrade", route.tier, below, route.model_copy(update={"tier": below}),
        tuple(evidence), interval.low >= criteria.target, {what.replace(" ", "_"): interval},
    )  # fmt: skip


def _neighbour(tier: Tier, ladder: list[Tier], *, up: bool) -> Tier | None:
    """The next enabled tier above (or below) ``tier``."""
    candidates = [t for t in ladder if (t > tier if up else t < tier)]
    if not candidates:
        return None
    return candidates[0] if up else candidates[-1]
