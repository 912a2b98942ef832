"""One evaluation: a router's metrics on a dataset, beside random, always-cheapest, always-top
and the oracle, in one JSON-ready structure that the CLI renders and the plot draws."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tierwise.analysis.evaluation.metrics import (
    Floats,
    Ints,
    Point,
    choose,
    frontier,
    operating_points,
    pair_curve,
    point,
    savings_at_retention,
)
from tierwise.analysis.evaluation.routers import choices_scores, oracle_choices, oracle_scores
from tierwise.core.tiers import Tier

RETENTION_TARGETS = (0.95, 0.99)
CPT_TARGETS = (0.5, 0.8, 0.95)
RANDOM_SEEDS = 10


@dataclass(frozen=True)
class RouterResult:
    """A router's figures on one dataset."""

    name: str
    point: Point | None  # at its operating thresholds (None: random, which has none)
    apgr: float  # on the cheapest↔top pair
    cpt: dict[float, float | None]
    savings_at: dict[float, float | None]
    curve: list[tuple[float, float]] = field(default_factory=list)  # (cost / top cost, quality)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the curve is left out: the plot draws it)."""
        return {
            "point": self.point.as_dict() if self.point else None,
            "apgr": round(self.apgr, 4),
            "cpt": {f"{int(x * 100)}%": _round(v) for x, v in self.cpt.items()},
            "savings_at_retention": {
                f"{int(x * 100)}%": _round(v) for x, v in self.savings_at.items()
            },
        }


@dataclass(frozen=True)
class Evaluation:
    """A router and the baselines on one dataset."""

    dataset: str
    rows: int
    tiers: tuple[Tier, ...]
    models: dict[Tier, str]
    router: RouterResult
    baselines: dict[str, RouterResult]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset,
            "rows": self.rows,
            "tiers": [t.value for t in self.tiers],
            "models": {t.value: m for t, m in self.models.items()},
            "router": {"name": self.router.name, **self.router.as_dict()},
            "baselines": {name: r.as_dict() for name, r in self.baselines.items()},
        }


def evaluate(
    name: str,
    scores: Floats,
    thresholds: Floats,
    quality: Floats,
    cost: Floats,
    *,
    dataset: str,
    tiers: tuple[Tier, ...],
    models: dict[Tier, str],
    seeds: int = RANDOM_SEEDS,
) -> Evaluation:
    """Score a router (rung scores + its thresholds) and the baselines on one dataset."""
    router = _result(name, scores, choose(scores, thresholds), quality, cost, tiers)
    rungs = len(tiers) - 1
    n = len(quality)
    cheapest = np.zeros(n, dtype=np.intp)
    top = np.full(n, rungs, dtype=np.intp)
    oracle = oracle_choices(quality)
    randoms = [
        _result("random", rng.random((n, rungs)), None, quality, cost, tiers)
        for rng in (np.random.default_rng(seed) for seed in range(seeds))
    ]
    baselines = {
        "random": _average("random", randoms),
        "always-cheapest": _result(
            "always-cheapest", choices_scores(cheapest, rungs), cheapest, quality, cost, tiers
        ),
        "always-top": _result("always-top", choices_scores(top, rungs), top, quality, cost, tiers),
        **{
            f"always-{tiers[k].value}": _result(
                f"always-{tiers[k].value}",
                choices_scores(fixed, rungs),
                fixed,
                quality,
                cost,
                tiers,
            )
            for k, fixed in ((k, np.full(n, k, dtype=np.intp)) for k in range(1, rungs))
        },
        "oracle": _result("oracle", oracle_scores(quality), oracle, quality, cost, tiers),
    }
    return Evaluation(dataset, n, tiers, models, router, baselines)


def _result(
    name: str,
    scores: Floats,
    choice: Ints | None,
    quality: Floats,
    cost: Floats,
    tiers: tuple[Tier, ...],
) -> RouterResult:
    pair_score = scores[:, 0] if scores.shape[1] == 1 else _pair_score(scores)
    pair = pair_curve(pair_score, quality[:, [0, -1]], cost[:, [0, -1]])
    points = [(p.quality, p.cost) for p in operating_points(scores, quality, cost)]
    top_cost = float(cost[:, -1].sum()) or 1.0
    return RouterResult(
        name=name,
        point=point(choice, quality, cost, tiers) if choice is not None else None,
        apgr=pair.apgr(),
        cpt={x: pair.cpt(x) for x in CPT_TARGETS},
        savings_at={x: savings_at_retention(points, quality, cost, x) for x in RETENTION_TARGETS},
        curve=[(c / top_cost, q) for q, c in frontier(points)],
    )


def _pair_score(scores: Floats) -> Floats:
    """On a ladder of three or more, the cheapest↔top pair is ordered by the cheapest rung's
    score, ties broken by the higher rungs' (a rule policy's sonnet rows rank between its
    haiku and opus rows)."""
    weights = np.array([1.0] + [1e-3**k for k in range(1, scores.shape[1])])
    result: Floats = scores @ weights
    return result


def _average(name: str, results: list[RouterResult]) -> RouterResult:
    def mean(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(np.mean(known)) if len(known) == len(values) else None

    first = results[0]
    return RouterResult(
        name=name,
        point=None,
        apgr=float(np.mean([r.apgr for r in results])),
        cpt={x: mean([r.cpt[x] for r in results]) for x in first.cpt},
        savings_at={x: mean([r.savings_at[x] for r in results]) for x in first.savings_at},
        curve=first.curve,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4) + 0.0  # no "-0.0"
