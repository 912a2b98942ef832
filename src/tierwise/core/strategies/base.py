"""The one protocol every routing strategy implements, and the running state they read.

A strategy is a small pure unit: given the request, its features and what earlier strategies
concluded, it returns one ``Verdict`` — decide a tier, set a floor or ceiling, or pass.
Strategies that need I/O (the LLM classifier) fit the same shape; the pipeline, not the
strategy, owns the order and the combination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tierwise.core.decision import Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier


@dataclass(slots=True)
class SoFar:
    """What the strategies before this one concluded (read it, don't write it)."""

    tier: Tier | None = None
    task_type: str | None = None
    max_tokens: int | None = None
    floor: Tier | None = None
    ceiling: Tier | None = None


class Strategy(Protocol):
    """A routing strategy."""

    @property
    def name(self) -> str:
        """Shown in the decision trace."""
        ...

    @property
    def only_decides(self) -> bool:
        """True when the strategy can only decide, so it is skipped once a tier is decided."""
        ...

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        """The verdict on this request."""
        ...
