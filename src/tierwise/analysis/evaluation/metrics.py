"""The routing metrics, as RouteLLM defines them, plus cost.

Everything works on two matrices with one column per tier (cheapest first): ``quality`` (each
tier's score on each row) and ``cost`` (what each tier would have cost on each row). A policy is
a vector of chosen tier indices; a scoring router is a score per row, and a threshold on it.

On a weak↔strong pair, sorting rows by score and sending the top share to the strong tier gives
the quality-vs-strong-share curve. Tied scores are one step of the curve, interpolated linearly:
that is the expected curve when ties are broken at random, so a router with few distinct scores
(a rule policy) is not flattered by the order of the rows.

* PGR = (Q − Q_weak) / (Q_strong − Q_weak)
* CPT(x) = the strong-call share at which the curve first reaches PGR x
* APGR = the mean PGR over strong-call shares in [0, 1] (the area under the PGR curve): a random
  router scores 0.5 and the oracle, which sends only the rows the strong tier gets right and the
  weak one wrong, scores above 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tierwise.core.tiers import Tier

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Point:
    """One operating point: what a policy's choices score and cost on a dataset."""

    quality: float
    retention: float  # quality / quality of always-top
    cost: float  # USD, summed over the rows
    savings: float  # 1 - cost / cost of always-top
    top_share: float  # share of rows sent to the top tier
    tier_mix: dict[Tier, float]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "quality": round(self.quality, 4),
            "retention": round(self.retention, 4),
            "cost_usd": round(self.cost, 6),
            "savings": round(self.savings, 4) + 0.0,  # no "-0.0"
            "top_share": round(self.top_share, 4),
            "tier_mix": {t.value: round(s, 4) for t, s in self.tier_mix.items()},
        }


def point(choice: Ints, quality: Floats, cost: Floats, tiers: tuple[Tier, ...]) -> Point:
    """The metrics of choosing tier ``choice[i]`` for row ``i``."""
    rows = np.arange(len(choice))
    top = len(tiers) - 1
    q = float(quality[rows, choice].mean())
    c = float(cost[rows, choice].sum())
    q_top = float(quality[:, top].mean())
    c_top = float(cost[:, top].sum())
    counts = np.bincount(choice, minlength=len(tiers))
    return Point(
        quality=q,
        retention=q / q_top if q_top else float("nan"),
        cost=c,
        savings=1 - c / c_top if c_top else float("nan"),
        top_share=float(counts[top] / len(choice)),
        tier_mix={t: float(counts[i] / len(choice)) for i, t in enumerate(tiers)},
    )


def choose(scores: Floats, thresholds: Floats, outcome: Ints | None = None) -> Ints:
    """Tier index per row: the cheapest rung whose score is below its threshold, else the top;
    with ``outcome`` (n, tiers), the tier a policy ends on given that choice.

    ``scores`` is (n, rungs): rung ``k`` scores how likely a tier above ``k`` is needed.
    """
    n, rungs = scores.shape
    choice = np.full(n, rungs, dtype=np.intp)
    undecided = np.ones(n, dtype=bool)
    for k in range(rungs):
        stay = undecided & (scores[:, k] < thresholds[k])
        choice[stay] = k
        undecided &= ~stay
    if outcome is not None:
        return outcome[np.arange(n), choice]
    return choice


@dataclass(frozen=True, slots=True)
class Curve:
    """The quality-vs-strong-share curve of one score on a weak↔strong pair."""

    shares: Floats  # strong-call share at each step, from 0 to 1
    qualities: Floats  # mean quality at each step
    costs: Floats  # total cost at each step
    thresholds: Floats  # the score threshold that yields each step (inf for share 0)
    q_weak: float
    q_strong: float

    def pgr(self) -> Floats:
        """PGR at each step."""
        gap = self.q_strong - self.q_weak
        return (self.qualities - self.q_weak) / gap if gap else np.zeros_like(self.qualities)

    def apgr(self) -> float:
        """The area under the PGR curve over strong-call shares in [0, 1]."""
        return float(np.trapezoid(self.pgr(), self.shares))

    def cpt(self, target: float) -> float | None:
        """The smallest strong-call share reaching PGR ``target`` (interpolated), if any."""
        pgr = self.pgr()
        reached = np.nonzero(pgr >= target - 1e-12)[0]
        if len(reached) == 0:
            return None
        i = int(reached[0])
        if i == 0:
            return float(self.shares[0])
        x0, x1, y0, y1 = self.shares[i - 1], self.shares[i], pgr[i - 1], pgr[i]
        return float(x0 + (target - y0) / (y1 - y0) * (x1 - x0)) if y1 != y0 else float(x1)


def pair_curve(score: Floats, quality: Floats, cost: Floats) -> Curve:
    """The curve of ``score`` (higher: send to strong) on a pair: columns 0 = weak, 1 = strong."""
    n = len(score)
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    gain = (quality[:, 1] - quality[:, 0])[order]
    extra = (cost[:, 1] - cost[:, 0])[order]
    ends = np.r_[np.nonzero(np.diff(ranked))[0] + 1, n]  # the end of each group of ties
    q_weak, c_weak = float(quality[:, 0].mean()), float(cost[:, 0].sum())
    return Curve(
        shares=np.r_[0, ends] / n,
        qualities=q_weak + np.r_[0, np.cumsum(gain)[ends - 1]] / n,
        costs=c_weak + np.r_[0, np.cumsum(extra)[ends - 1]],
        thresholds=np.r_[np.inf, ranked[ends - 1]],
        q_weak=q_weak,
        q_strong=float(quality[:, 1].mean()),
    )


def savings_at_retention(
    points: list[tuple[float, float]], quality: Floats, cost: Floats, target: float
) -> float | None:
    """The best savings that keep at least ``target`` of always-top's quality, among operating
    points ``(mean quality, total cost)`` and random mixes of two neighbours on their frontier
    (route a share of prompts by one, the rest by the other): a rule policy that keeps 93 % then
    still gets the savings of sending just enough of its cheap picks up. ``None``: none does."""
    q_top, c_top = float(quality[:, -1].mean()), float(cost[:, -1].sum())
    floor = target * q_top - 1e-12
    if not c_top:
        return None
    previous: tuple[float, float] | None = None
    for q, c in frontier(points):
        if q >= floor:
            if previous is not None and q > previous[0]:
                q0, c0 = previous
                c = c0 + (floor - q0) / (q - q0) * (c - c0)
            return 1 - c / c_top
        previous = (q, c)
    return None


@dataclass(frozen=True, slots=True)
class Operating:
    """One setting of the thresholds and what it yields."""

    thresholds: Floats
    quality: float  # mean
    cost: float  # total USD
    top_share: float


def operating_points(
    scores: Floats, quality: Floats, cost: Floats, grid: int = 40, outcome: Ints | None = None
) -> list[Operating]:
    """The operating points of a grid of thresholds on every rung.

    One rung: every distinct score is a threshold (exact). More rungs: ``grid`` quantiles of each
    rung's scores, every combination (``(grid + 2) ** rungs`` points at most, vectorised).
    ``outcome`` (n, tiers): the tier a policy ends on for each tier the scores choose
    (``composite_outcomes``); the points are then the policy's, on the same thresholds.
    """
    n, rungs = scores.shape
    rows = np.arange(n)
    if rungs == 1 and outcome is None:
        curve = pair_curve(scores[:, 0], quality, cost)
        return [
            Operating(np.array([t]), float(q), float(c), float(s))
            for t, q, c, s in zip(
                curve.thresholds, curve.qualities, curve.costs, curve.shares, strict=True
            )
        ]
    if rungs == 1:
        axes = [np.unique(np.r_[scores[:, 0], np.inf])]
    else:
        axes = [
            np.unique(np.r_[np.quantile(scores[:, k], np.linspace(0, 1, grid + 1)), np.inf])
            for k in range(rungs)
        ]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, rungs)
    out: list[Operating] = []
    for thresholds in mesh:
        choice = choose(scores, thresholds, outcome)
        out.append(
            Operating(
                thresholds,
                float(quality[rows, choice].mean()),
                float(cost[rows, choice].sum()),
                float(np.mean(choice == rungs)),
            )
        )
    return out


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The cost-quality Pareto frontier of ``(quality, cost)`` points, cheapest first."""
    best: list[tuple[float, float]] = []
    for q, c in sorted(points, key=lambda p: (p[1], -p[0])):
        if not best or q > best[-1][0]:
            best.append((q, c))
    return best
