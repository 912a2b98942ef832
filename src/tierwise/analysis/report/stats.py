"""Confidence intervals for the shares review and replay show: Wilson score intervals.

Wilson's interval stays inside [0, 1] and keeps its coverage for small samples and shares near
0 or 1 (where the normal approximation fails, and where escalation rates and quality retention
usually are). Quality scores are means of values in [0, 1]: a variable bounded so has at most
the variance of a 0/1 variable with the same mean, so the Wilson interval of the mean, with the
number of scores as the sample size, is conservative (at least as wide as it needs to be).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from tierwise.core.errors import InputError

__all__ = ["Interval", "wilson"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A share, its sample size and its confidence interval."""

    value: float
    n: int
    low: float
    high: float
    confidence: float

    def as_json(self) -> dict[str, float | int]:
        return {
            "value": round(self.value, 6),
            "n": self.n,
            "low": round(self.low, 6),
            "high": round(self.high, 6),
            "confidence": self.confidence,
        }

    def describe(self) -> str:
        """``27% of 30 (Wilson 95%: 14%–45%)``."""
        return (
            f"{self.value:.0%} of {self.n} (Wilson {self.confidence:.0%}: "
            f"{self.low:.0%}-{self.high:.0%})"
        )


def wilson(share: float, n: int, confidence: float = 0.95) -> Interval | None:
    """The Wilson score interval of ``share`` observed over ``n`` samples (``None`` if n = 0).

    ``share`` is clamped to [0, 1] (a quality score above 1.0, better than the baseline,
    counts as 1.0 here).
    """
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    if n <= 0:
        return None
    p = min(max(share, 0.0), 1.0)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return Interval(share, n, max(0.0, centre - half), min(1.0, centre + half), confidence)
