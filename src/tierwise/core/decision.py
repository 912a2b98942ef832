"""The values routing produces: verdicts and the decision (the request is in ``request``).

They are plain frozen dataclasses so that strategies stay pure functions over them and a
decision can be logged, compared and replayed without any of the machinery that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tierwise.core.tiers import Tier

if TYPE_CHECKING:
    from tierwise.core.features import PromptFeatures


class Action(StrEnum):
    """What a strategy's verdict does to the decision."""

    DECIDE = "decide"  # picks a tier; the first decide in policy order wins
    FLOOR = "floor"  # the tier may not be lower than this
    CEILING = "ceiling"  # the tier may not be higher than this
    PASS = "pass"  # no opinion (the reason says why)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One strategy's answer, kept in the decision's trace whether or not it won."""

    strategy: str
    action: Action
    reason: str
    tier: Tier | None = None
    task_type: str | None = None
    max_tokens: int | None = None
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, omitting empty fields."""
        out: dict[str, Any] = {"strategy": self.strategy, "action": self.action.value}
        if self.tier is not None:
            out["tier"] = self.tier.value
        if self.task_type is not None:
            out["task_type"] = self.task_type
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.score is not None:
            out["score"] = round(self.score, 4)
        out["reason"] = self.reason
        return out

    def describe(self) -> str:
        """One line for humans: ``keywords: decide sonnet — matched 'write tests'``."""
        target = f" {self.tier.value}" if self.tier is not None else ""
        return f"{self.strategy}: {self.action.value}{target} — {self.reason}"


@dataclass(frozen=True, slots=True)
class Decision:
    """Which model serves the request, why, and what it would have been without routing."""

    model: str
    tier: Tier
    max_tokens: int
    reason: str
    trace: tuple[Verdict, ...]
    baseline_model: str
    task_type: str | None = None
    score: float | None = None
    context_tokens: int = 0  # the prompt-size estimate the decision was made with
    # what the strategies read, kept so that the recorder need not analyse the text again
    features: PromptFeatures | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "model": self.model,
            "tier": self.tier.value,
            "max_tokens": self.max_tokens,
            "reason": self.reason,
            "task_type": self.task_type,
            "baseline_model": self.baseline_model,
            "context_tokens": self.context_tokens,
            "trace": [verdict.as_dict() for verdict in self.trace],
        }
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out
