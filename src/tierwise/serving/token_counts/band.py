"""Which prompts are near a line routing draws, so that a real count could change the decision.

The lines are the policy's context thresholds (``large_read_tokens``, ``deep_read_tokens``) and
the context window of every enabled tier's model. A prompt is *near* one when its estimate is
within ``context.count_band`` (a share, ±25 % by default) of it: the estimate's usual error is
well inside that, so a prompt outside every band routes the same whatever the exact count.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.policy import Policy


@dataclass(frozen=True, slots=True)
class Threshold:
    """One line routing draws by prompt size."""

    name: str  # e.g. "context.deep_read_tokens" or "claude-haiku-5-5's window"
    tokens: int


def thresholds(policy: Policy) -> tuple[Threshold, ...]:
    """The policy's size thresholds and its enabled models' windows, smallest first."""
    context = policy.config.context
    found = [
        Threshold("context.large_read_tokens", context.large_read_tokens),
        Threshold("context.deep_read_tokens", context.deep_read_tokens),
    ]
    for tier in policy.ladder:
        model = policy.model_for(tier)
        found.append(Threshold(f"{model.id}'s window", model.context_window))
    seen: set[int] = set()
    unique = []
    for threshold in sorted(found, key=lambda t: t.tokens):
        if threshold.tokens not in seen:
            seen.add(threshold.tokens)
            unique.append(threshold)
    return tuple(unique)


def nearest(estimate: int, lines: tuple[Threshold, ...], band: float) -> Threshold | None:
    """The threshold ``estimate`` is closest to, relatively, if within ``band`` of it."""
    best: Threshold | None = None
    best_distance = band
    for line in lines:
        distance = abs(estimate - line.tokens) / line.tokens
        if distance <= best_distance:
            best, best_distance = line, distance
    return best
