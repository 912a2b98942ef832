"""The learned strategy: the trained router scores the prompt, thresholds from the policy decide.

The router file is loaded once, when the policy's pipeline is built (numpy is imported then, not
at tierwise's import). The request's task-type hint, else its domain hint, stands in for the
category the router was trained with. The verdict's score is the router's estimate that the top
tier is needed (the cheapest rung's score), so traces and records show how close the call was.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import LearnedConfig
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar
from tierwise.core.tiers import Tier
from tierwise.learned.gate import self_contained_question

if TYPE_CHECKING:
    from tierwise.learned.model import LearnedRouter


def category_of(request: RouteRequest) -> str | None:
    """The category the router reads: the row's ``category`` (metadata), else the task-type or
    domain hint."""
    category = request.metadata.get("category")
    if isinstance(category, str) and category:
        return category
    return request.task_type or request.domain


@cache
def _load(path: str) -> LearnedRouter:
    from tierwise.learned.model import load_router

    return load_router(path)


@dataclass(frozen=True)
class LearnedStrategy:
    """Decides the cheapest tier whose rung score is under its threshold."""

    router: LearnedRouter
    thresholds: dict[Tier, float]
    name: str = "learned"
    only_decides: bool = True
    gate: str = "none"

    @classmethod
    def from_config(cls, config: LearnedConfig) -> LearnedStrategy:
        """Load the configured router file (cached per path)."""
        if not config.router:
            raise ValueError("learned.router is not set")
        router = _load(config.router)
        return cls(router, {**router.thresholds, **config.thresholds}, gate=config.gate)

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        if self.gate == "question" and not self_contained_question(request.text, features):
            return Verdict(
                self.name, Action.PASS, "not a self-contained question: left to the rules"
            )
        scores = self.router.scores(request.text, category_of(request))
        tier = self.router.choose(scores, self.thresholds)
        shown = ", ".join(
            f"{rung.tier.value} {score:.2f}"
            for rung, score in zip(self.router.rungs, scores, strict=True)
        )
        return Verdict(
            self.name,
            Action.DECIDE,
            f"learned router: expected gain from a higher tier {shown}",
            tier=tier,
            score=scores[0],
        )
