"""The composite policy beside the rules alone and the learned router alone, on rows the router
never saw, and on the coding-style sets.

    python benchmarks/split_dataset.py DATA_DIR SPLITS gsm8k mmlu mmlu_pro
    tierwise train SPLITS/NAME_train.jsonl -o SPLITS/r_NAME.json
    tierwise calibrate SPLITS/NAME_cal.jsonl --router SPLITS/r_NAME.json --target retention=0.95 \\
        --policy composite -o SPLITS/comp_NAME.toml
    python benchmarks/composite_policy.py SPLITS gsm8k mmlu mmlu_pro

Per dataset, on the test rows: the savings at 95 % and 99 % retention over every threshold
(random mixes of two neighbouring points allowed, as ``tierwise eval`` reports them) for the
rules alone, the learned router alone and the composite, whose points are its own decisions
(``composite_outcomes``). Then the coding sets (the corpus's tune half and the three older
sets): acceptable and under-routed shares, the rules alone against each composite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tierwise.analysis.evaluation.costs import cost_matrix
from tierwise.analysis.evaluation.dataset import load_dataset
from tierwise.analysis.evaluation.metrics import operating_points, savings_at_retention
from tierwise.analysis.evaluation.routers import (
    choices_scores,
    composite_outcomes,
    learned_scores,
    policy_choices,
)
from tierwise.core.policy import default_policy, load_policy
from tierwise.learned.model import load_router
from tierwise.learned.pipeline import Router

sys.path.insert(0, str(Path(__file__).parent))
from policy_accuracy import request_of, rows_of

CODING = ("tests/data/corpus/coding_requests.jsonl", "tests/data/routing_dev.jsonl",
          "tests/data/routing_holdout.jsonl", "tests/data/routing_test.jsonl")  # fmt: skip


def curve_savings(points: list[tuple[float, float]], quality: np.ndarray, cost: np.ndarray) -> str:
    out = [savings_at_retention(points, quality, cost, x) for x in (0.95, 0.99)]
    return " / ".join("—" if s is None else f"{s:.1%}" for s in out)


def datasets(folder: Path, names: list[str]) -> None:
    nothing = lambda: None  # noqa: E731
    for name in names:
        test = load_dataset(folder / f"{name}_test.jsonl")
        router = load_router(folder / f"r_{name}.json")
        composite = load_policy(folder / f"comp_{name}.toml")
        q, c = test.scores, cost_matrix(test, default_policy())
        rungs = len(test.tiers) - 1
        rules = choices_scores(policy_choices(test, default_policy(), nothing), rungs)
        scores = learned_scores(test, router, nothing)
        outcome = composite_outcomes(test, composite, nothing)
        learned_by_composite = (outcome[:, 0] != outcome[:, -1]).mean()
        print(f"{name} ({len(test)} test rows; the router decides {learned_by_composite:.1%}):")
        for label, pts in (
            ("rules", operating_points(rules, q, c)),
            ("learned", operating_points(scores, q, c)),
            ("composite", operating_points(scores, q, c, outcome=outcome)),
        ):
            shown = curve_savings([(p.quality, p.cost) for p in pts], q, c)
            print(f"  {label:<9} savings @95% / @99%: {shown}")


def coding(folder: Path, names: list[str]) -> None:
    policies = {"rules": default_policy()} | {
        f"composite ({n})": load_policy(folder / f"comp_{n}.toml") for n in names
    }
    for path in CODING:
        split = "tune" if "corpus" in path else None
        rows = rows_of(Path(path), split)
        for label, policy in policies.items():
            router = Router(policy)
            chosen = [router.decide(request_of(row)) for row in rows]
            ok = under = learned = 0
            for row, decision in zip(rows, chosen, strict=True):
                acceptable = row.get("acceptable") or [row["label"]]
                ok += decision.tier.value in acceptable
                under += decision.tier < type(decision.tier)(row["label"])
                learned += decision.reason.startswith("learned")
            n = len(rows)
            print(f"  {Path(path).name:<24} {label:<20} acceptable {ok / n:.1%}  under "
                  f"{under / n:.1%}  decided by the router {learned}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("splits", type=Path)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args()
    datasets(args.splits, args.names)
    print("coding-style sets:")
    coding(args.splits, args.names)


if __name__ == "__main__":
    main()
