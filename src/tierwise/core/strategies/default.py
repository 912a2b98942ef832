"""The last word: when nothing else decided, the policy's default tier."""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar
from tierwise.core.tiers import Tier


@dataclass(frozen=True)
class DefaultStrategy:
    """Decides the default tier (Sonnet in the shipped policy: safe for unknown work)."""

    tier: Tier
    name: str = "default"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        return Verdict(self.name, Action.DECIDE, "no stronger signal: default tier", tier=self.tier)
