"""The last word: when nothing else decided, the policy's default tier."""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.decision import Action, RouteRequest, Verdict
from tierwise.features import PromptFeatures
from tierwise.strategies.base import SoFar
from tierwise.tiers import Tier


@dataclass(frozen=True)
class DefaultStrategy:
    """Decides the default tier (Sonnet in the shipped policy: safe for unknown work)."""

    tier: Tier
    name: str = "default"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        return Verdict(self.name, Action.DECIDE, "no stronger signal: default tier", tier=self.tier)
