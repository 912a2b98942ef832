"""Turning routers into rung scores on a dataset: rule policies, the learned router, baselines.

Every router ends up as an (n, rungs) score matrix, where rung ``k`` scores how much a row needs
a tier above the dataset's ``k``-th, so one set of metrics serves all of them. A router that only
picks tiers (a rule policy) scores 1 on the rungs below its choice and 0 from it up: its one
operating point is at thresholds of 0.5, and its curve has steps only where it changes tier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tierwise.analysis.evaluation.dataset import Dataset
from tierwise.analysis.evaluation.metrics import Floats, Ints
from tierwise.core.decision import Action, Verdict
from tierwise.core.errors import InputError
from tierwise.core.features import PromptFeatures
from tierwise.core.policy import Policy
from tierwise.core.policy_schema import PolicyConfig
from tierwise.core.request import RouteRequest
from tierwise.core.strategies import FACTORIES, SoFar, Strategy, StrategyFactory
from tierwise.core.tiers import Tier
from tierwise.learned.gate import self_contained_question
from tierwise.learned.model import LearnedRouter
from tierwise.learned.pipeline import Router


def nearest_tier(tier: Tier, tiers: Sequence[Tier]) -> int:
    """Index of ``tier`` in ``tiers``, else of the closest tier below it, else the cheapest.

    The same rule the router applies to a tier the policy has not enabled.
    """
    below = [i for i, t in enumerate(tiers) if t <= tier]
    return below[-1] if below else 0


def choices_scores(choice: Ints, rungs: int) -> Floats:
    """Scores that reproduce fixed choices at thresholds of 0.5."""
    return (choice[:, None] > np.arange(rungs)[None, :]).astype(float)


def tier_function_choices(dataset: Dataset, pick: Callable[[str], Tier]) -> Ints:
    """The tier index ``pick`` chooses for each row's prompt."""
    return np.array(
        [nearest_tier(pick(row.prompt), dataset.tiers) for row in dataset.rows], dtype=np.intp
    )


def row_request(prompt: str, category: str | None) -> RouteRequest:
    """A dataset row as routing sees it; its category is what the learned strategy reads."""
    return RouteRequest(text=prompt, metadata={"category": category} if category else {})


def policy_choices(dataset: Dataset, policy: Policy, progress: Callable[[], None]) -> Ints:
    """The tier the policy picks for each row (mapped to the dataset's ladder)."""
    router = Router(policy)
    out = np.empty(len(dataset), dtype=np.intp)
    for i, row in enumerate(dataset.rows):
        tier = router.decide(row_request(row.prompt, row.category)).tier
        out[i] = nearest_tier(tier, dataset.tiers)
        progress()
    return out


@dataclass(frozen=True)
class _Fixed:
    """Stands in for the learned strategy: decides one tier wherever its gate lets it."""

    tier: Tier
    gate: str
    name: str = "learned"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        if self.gate == "question" and not self_contained_question(request.text, features):
            return Verdict(self.name, Action.PASS, "not a self-contained question")
        return Verdict(self.name, Action.DECIDE, f"stand-in: {self.tier.value}", tier=self.tier)


def _stand_in_router(policy: Policy, tier: Tier) -> Router:
    """The policy's router with the learned strategy replaced by one that decides ``tier``."""

    def fixed(config: PolicyConfig) -> Strategy:
        return _Fixed(tier, config.learned.gate)

    class Stand(Router):
        factories: ClassVar[Mapping[str, StrategyFactory]] = {**FACTORIES, "learned": fixed}

    return Stand(policy)


def composite_outcomes(dataset: Dataset, policy: Policy, progress: Callable[[], None]) -> Ints:
    """Per row and per tier the learned strategy could decide (the dataset's tiers), the tier
    the whole policy ends on (the dataset's index): an (n, tiers) table.

    A row some rule decided has one value across its row; elsewhere the floors and ceilings the
    policy sets bound what the learned strategy chose. With ``outcome[rows, choose(scores, t)]``
    calibration scores the policy's decisions, not the learned router's alone.
    """
    if "learned" not in policy.config.strategies:
        raise InputError(f"{policy.source}: the policy does not run the learned strategy")
    routers = [_stand_in_router(policy, tier) for tier in dataset.tiers]
    out = np.empty((len(dataset), len(dataset.tiers)), dtype=np.intp)
    for i, row in enumerate(dataset.rows):
        request = row_request(row.prompt, row.category)
        for j, router in enumerate(routers):
            out[i, j] = nearest_tier(router.decide(request).tier, dataset.tiers)
        progress()
    return out


def learned_scores(dataset: Dataset, router: LearnedRouter, progress: Callable[[], None]) -> Floats:
    """The learned router's score on each of the dataset's rungs."""
    missing = [t.value for t in dataset.tiers[:-1] if t not in router.tiers[:-1]]
    if missing:
        raise InputError(
            f"{dataset.name}: the router has no rung for tier(s) {', '.join(missing)} "
            f"(it was trained on {', '.join(t.value for t in router.tiers)})"
        )
    columns = [router.tiers.index(t) for t in dataset.tiers[:-1]]
    out = np.empty((len(dataset), len(columns)))
    for i, row in enumerate(dataset.rows):
        scores = router.scores(row.prompt, row.category)
        out[i] = [scores[c] for c in columns]
        progress()
    return out


def oracle_choices(quality: Floats) -> Ints:
    """The cheapest tier that reaches the row's best score."""
    best = quality.max(axis=1, keepdims=True)
    choice: Ints = np.argmax(quality >= best - 1e-12, axis=1).astype(np.intp)
    return choice


def oracle_scores(quality: Floats) -> Floats:
    """Per rung: how much better the best tier above does than this one (ties: 0)."""
    rungs = quality.shape[1] - 1
    return np.stack([quality[:, k + 1 :].max(axis=1) - quality[:, k] for k in range(rungs)], axis=1)
