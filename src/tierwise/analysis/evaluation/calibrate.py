"""Calibration: pick the learned router's thresholds on labelled data for a target, and say how
sure that is.

Targets: ``retention=0.95`` (the cheapest thresholds that keep 95 % of the top tier's quality),
``max-top-share=0.2`` (the best quality sending at most 20 % of prompts to the top tier) and
``budget=USD`` (the best quality at most that many dollars per 1,000 prompts). The expected
retention and savings come with bootstrap confidence intervals: the rows are resampled with
replacement and the chosen thresholds re-scored on every resample.

A retention target is met *conservatively* by default: the cheapest thresholds whose one-sided
95 % lower confidence bound of retention (delta method on the ratio of means) reaches the
target, not merely the point estimate. Chosen on the point estimate, half the time the target
is missed on new rows of the same kind; the bound buys a margin that shrinks as rows grow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tierwise.analysis.evaluation.metrics import Floats, Ints, Operating, choose, operating_points
from tierwise.core.errors import InputError
from tierwise.core.tiers import Tier

TARGET_KINDS = ("retention", "max-top-share", "budget")
LOWER_BOUND_Z = 1.645  # one-sided 95 %


@dataclass(frozen=True, slots=True)
class Target:
    """What calibration aims for."""

    kind: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        """``retention=0.95``, ``max-top-share=0.2`` or ``budget=USD`` (per 1,000 prompts)."""
        kind, _, raw = text.partition("=")
        kind = kind.strip()
        if kind not in TARGET_KINDS:
            raise InputError(f"--target: {kind!r} is not one of {', '.join(TARGET_KINDS)}")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"--target {kind}: {raw!r} is not a number") from None
        if kind != "budget" and not 0 < value <= (1.5 if kind == "retention" else 1):
            raise InputError(f"--target {kind}: {value} is out of range")
        if kind == "budget" and value <= 0:
            raise InputError("--target budget: must be more than 0 USD per 1,000 prompts")
        return cls(kind, value)


@dataclass(frozen=True)
class Interval:
    """An estimate and its bootstrap confidence interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {
            "value": round(self.value, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
        }


@dataclass(frozen=True)
class Calibration:
    """The chosen thresholds and what they are expected to give."""

    target: Target
    thresholds: dict[Tier, float]
    retention: Interval
    savings: Interval
    top_share: Interval
    usd_per_1000: float
    met: bool  # False: no thresholds reach the target on this data; the closest are given
    rows: int = 0
    retention_lower_bound: float = 0.0  # one-sided 95 % bound used to choose (retention target)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "target": f"{self.target.kind}={self.target.value:g}",
            "met": self.met,
            "rows": self.rows,
            "retention_lower_bound": round(self.retention_lower_bound, 4),
            "thresholds": {t.value: round(v, 6) for t, v in self.thresholds.items()},
            "retention": self.retention.as_dict(),
            "savings": self.savings.as_dict(),
            "top_share": self.top_share.as_dict(),
            "usd_per_1000": round(self.usd_per_1000, 6),
        }


def calibrate(
    scores: Floats,
    quality: Floats,
    cost: Floats,
    tiers: tuple[Tier, ...],
    target: Target,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    conservative: bool = True,
    outcome: Ints | None = None,
) -> Calibration:
    """Thresholds for ``target`` on this data, with bootstrap intervals; a retention target
    is held by the lower confidence bound when ``conservative``. With ``outcome`` (n, tiers:
    the tier a policy ends on for each tier the scores choose), every figure is the policy's."""
    n = len(scores)
    points = operating_points(scores, quality, cost, outcome=outcome)
    chosen, met = _pick(points, target, quality, cost, n)
    if conservative and target.kind == "retention" and met:
        chosen, met = _pick_by_bound(points, scores, quality, target.value, outcome)
    thresholds = np.minimum(chosen.thresholds, 1.0)  # inf (never stay) is 1.0 in a policy
    choice = choose(scores, chosen.thresholds, outcome)
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    retention, savings, share = [], [], []
    for _ in range(resamples):
        sample = rng.integers(0, n, n)
        picked = choice[sample]
        q, c = quality[sample], cost[sample]
        retention.append(q[rows, picked].mean() / max(q[:, -1].mean(), 1e-12))
        savings.append(1 - c[rows, picked].sum() / max(c[:, -1].sum(), 1e-12))
        share.append(np.mean(picked == len(tiers) - 1))
    q_top, c_top = float(quality[:, -1].mean()), float(cost[:, -1].sum())
    alpha = (1 - confidence) / 2
    return Calibration(
        target=target,
        thresholds={t: float(v) for t, v in zip(tiers[:-1], thresholds, strict=True)},
        retention=_interval(chosen.quality / q_top if q_top else 0.0, retention, alpha),
        savings=_interval(1 - chosen.cost / c_top if c_top else 0.0, savings, alpha),
        top_share=_interval(chosen.top_share, share, alpha),
        usd_per_1000=chosen.cost / n * 1000,
        met=met,
        rows=n,
        retention_lower_bound=retention_bound(choice, quality),
    )


def retention_bound(choice: Ints, quality: Floats, z: float = LOWER_BOUND_Z) -> float:
    """One-sided lower confidence bound of retention ``mean(a) / mean(b)`` (a: the chosen
    tiers' scores, b: the top tier's), by the delta method: se = sd(a − R·b) / (√n · mean b)."""
    n = len(choice)
    a, b = quality[np.arange(n), choice], quality[:, -1]
    top = float(b.mean())
    if n < 2 or top <= 0:
        return 0.0
    ratio = float(a.mean()) / top
    se = float(np.std(a - ratio * b, ddof=1)) / (np.sqrt(n) * top)
    return float(ratio - z * se)


def _pick_by_bound(
    points: list[Operating],
    scores: Floats,
    quality: Floats,
    target: float,
    outcome: Ints | None = None,
) -> tuple[Operating, bool]:
    """The cheapest point whose lower bound of retention reaches ``target`` (always-top when
    none does: its retention is 1 by definition)."""
    floor = target * float(quality[:, -1].mean()) - 1e-12
    for p in sorted((p for p in points if p.quality >= floor), key=lambda p: (p.cost, -p.quality)):
        if retention_bound(choose(scores, p.thresholds, outcome), quality) >= target - 1e-12:
            return p, True
    return max(points, key=lambda p: (p.top_share, p.quality)), False


def _pick(
    points: list[Operating], target: Target, quality: Floats, cost: Floats, n: int
) -> tuple[Operating, bool]:
    if target.kind == "retention":
        floor = target.value * float(quality[:, -1].mean()) - 1e-12
        ok = [p for p in points if p.quality >= floor]
        if ok:
            return min(ok, key=lambda p: (p.cost, -p.quality)), True
        return max(points, key=lambda p: (p.quality, -p.cost)), False
    if target.kind == "max-top-share":
        ok = [p for p in points if p.top_share <= target.value + 1e-12]
    else:
        ok = [p for p in points if p.cost / n * 1000 <= target.value + 1e-12]
    if ok:
        return max(ok, key=lambda p: (p.quality, -p.cost)), True
    return min(points, key=lambda p: (p.cost, -p.quality)), False


def _interval(value: float, samples: list[float], alpha: float) -> Interval:
    low, high = np.quantile(np.array(samples), [alpha, 1 - alpha])
    return Interval(value, float(low), float(high))
