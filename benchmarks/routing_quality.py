"""Routing skill on the labelled datasets: the learned router (K-fold cross-validated, its
feature preset chosen inside each training fold), the default rule policy and the product
description's keyword rules, beside the baselines.

    TIERWISE_EVAL_DATA=path/to/data python benchmarks/routing_quality.py gsm8k mmlu mmlu_pro

Each line: APGR on the cheapest↔top pair, CPT(50/80/95 %), savings at 95 % / 99 % retention,
and quality and cost of always-sonnet where the ladder has it (to compare at equal quality).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TypedDict

import numpy as np

from tierwise.analysis.evaluation.costs import cost_matrix, tier_models
from tierwise.analysis.evaluation.dataset import data_dir, load_dataset, resolve_dataset
from tierwise.analysis.evaluation.metrics import frontier, operating_points
from tierwise.analysis.evaluation.report import RouterResult, evaluate
from tierwise.analysis.evaluation.routers import (
    choices_scores,
    policy_choices,
    tier_function_choices,
)
from tierwise.analysis.training.train import cross_val_scores
from tierwise.core.policy import default_policy
from tierwise.core.tiers import Tier

sys.path.insert(0, str(Path(__file__).parent))
from policy_accuracy import seed_keyword_tier


class Context(TypedDict):
    """The keyword arguments every evaluation of one dataset shares."""

    dataset: str
    tiers: tuple[Tier, ...]
    models: dict[Tier, str]


def line(name: str, r: RouterResult) -> str:
    def pct(v: float | None) -> str:
        return "  —  " if v is None else f"{v * 100 + 0.0:5.1f}"

    cpt = "/".join(pct(r.cpt[x]) for x in (0.5, 0.8, 0.95))
    at = "/".join(pct(r.savings_at[x]) for x in (0.95, 0.99))
    return f"  {name:<22} APGR {r.apgr:.3f}  CPT {cpt}  savings@95/99 {at}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()
    policy = default_policy()
    for name in args.datasets:
        ds = load_dataset(resolve_dataset(name, data_dir()))
        q, c = ds.scores, cost_matrix(ds, policy)
        rungs = len(ds.tiers) - 1
        half = np.full(rungs, 0.5)
        ctx = Context(dataset=ds.name, tiers=ds.tiers, models=tier_models(policy, ds.tiers))

        learned_scores = cross_val_scores(ds, folds=args.cv)
        learned = evaluate("learned", learned_scores, half, q, c, **ctx)
        rules = choices_scores(policy_choices(ds, policy, lambda: None), rungs)
        seed = choices_scores(tier_function_choices(ds, seed_keyword_tier), rungs)
        print(f"{ds.name}: {len(ds)} rows, tiers {'/'.join(t.value for t in ds.tiers)}")
        print(line(f"learned ({args.cv}-fold CV)", learned.router))
        print(line("default rule policy", evaluate("policy", rules, half, q, c, **ctx).router))
        print(line("seed keyword rules", evaluate("seed", seed, half, q, c, **ctx).router))
        for base, result in learned.baselines.items():
            print(line(base, result))
        for k in range(1, rungs):  # a middle tier: can routing match its quality for less?
            fixed = learned.baselines[f"always-{ds.tiers[k].value}"].point
            assert fixed is not None
            points = [(p.quality, p.cost) for p in operating_points(learned_scores, q, c)]
            cheaper = [cost for qual, cost in frontier(points) if qual >= fixed.quality]
            best = min(cheaper) if cheaper else None
            always = float(c[:, k].sum())
            shown = "not reached" if best is None else f"{best:.2f} USD ({best / always:.1%})"
            print(
                f"  always-{ds.tiers[k].value}: quality {fixed.quality:.4f}, {always:.2f} USD; "
                f"learned at equal or better quality: {shown}"
            )


if __name__ == "__main__":
    main()
