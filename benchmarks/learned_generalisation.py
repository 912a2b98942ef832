"""The learned router on prompts it never saw: the default operating point out of sample, and
cross-dataset APGR beside a plain TF-IDF baseline and random.

    TIERWISE_EVAL_DATA=path/to/data python benchmarks/learned_generalisation.py

1. Per dataset: 80 % of the rows go to training (which itself holds a quarter of them out to
   calibrate the default thresholds for 95 % retention); the other 20 %, never seen, measure
   the retention those thresholds deliver, beside the interval training claimed.
2. Cross-dataset: train on two of gsm8k, mmlu and mmlu_pro, test on the third (cheapest↔top
   APGR), for the learned router, the TF-IDF baseline and random.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tierwise.analysis.evaluation.baseline import TfidfBaseline
from tierwise.analysis.evaluation.dataset import Dataset, data_dir, load_dataset, resolve_dataset
from tierwise.analysis.evaluation.metrics import choose, pair_curve
from tierwise.analysis.evaluation.routers import learned_scores
from tierwise.analysis.training.holdout import train_with_holdout
from tierwise.analysis.training.train import examples_from_dataset

NAMES = ("gsm8k", "mmlu", "mmlu_pro")


def pair_apgr(scores: np.ndarray, dataset: Dataset) -> float:
    quality = dataset.scores[:, [0, -1]]
    return pair_curve(scores[:, 0], quality, np.zeros_like(quality)).apgr()


def operating_point(dataset: Dataset, target: float) -> None:
    order = np.random.default_rng(1).permutation(len(dataset))
    cut = int(len(dataset) * 0.8)
    known, unseen = dataset.subset(order[:cut]), dataset.subset(order[cut:])
    examples = examples_from_dataset(known)
    start = time.process_time()
    router, report = train_with_holdout(
        examples, [dataset.name] * len(examples), dataset.tiers, target=target, share=0.25
    )
    cpu = time.process_time() - start
    cal = report.calibration
    assert cal is not None
    scores = learned_scores(unseen, router, lambda: None)
    cuts = np.array([router.thresholds.get(t, 0.5) for t in dataset.tiers[:-1]])
    choice = choose(scores, cuts)
    q = unseen.scores
    measured = q[np.arange(len(q)), choice].mean() / q[:, -1].mean()
    r = cal.retention
    print(
        f"  {dataset.name:<9} claimed {r.value:.1%} (CI {r.low:.1%}–{r.high:.1%}, bound "
        f"{cal.retention_lower_bound:.1%}) on {cal.rows} held-out rows; measured {measured:.1%} "
        f"on {len(unseen)} unseen rows; top share {np.mean(choice == len(dataset.tiers) - 1):.1%}"
        f"; APGR fitted {report.apgr_fitted:.3f} / held out {report.apgr_held_out:.3f}; "
        f"train CPU {cpu:.1f} s; file {len(router.to_json()) / 1e6:.2f} MB"
    )


def cross(datasets: dict[str, Dataset]) -> None:
    print(f"  {'test set':<9} {'learned':>8} {'TF-IDF':>8} {'random':>8}  (trained on the others)")
    for test in datasets:
        train = [d for n, d in datasets.items() if n != test]
        examples = [e for d in train for e in examples_from_dataset(d)]
        groups = [d.name for d in train for _ in d.rows]
        tiers = sorted({t for d in train for t in d.tiers})
        router, _ = train_with_holdout(examples, groups, tiers, share=0.0)
        target = datasets[test].restrict((datasets[test].tiers[0], datasets[test].tiers[-1]))
        learned = pair_apgr(learned_scores(target, router, lambda: None), target)
        tfidf = pair_apgr(TfidfBaseline(train).scores(target), target)
        rng = np.random.default_rng(0)
        rand = np.mean([pair_apgr(rng.random((len(target), 1)), target) for _ in range(10)])
        chosen = f"{router.trained['features']}, C {router.trained['c']}"
        print(f"  {test:<9} {learned:8.3f} {tfidf:8.3f} {rand:8.3f}  ({chosen})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--skip", choices=("point", "cross"))
    args = parser.parse_args()
    datasets = {n: load_dataset(resolve_dataset(n, data_dir())) for n in NAMES}
    if args.skip != "point":
        print(f"default operating point (target {args.target:.0%}), measured on unseen rows:")
        for dataset in datasets.values():
            operating_point(dataset, args.target)
    if args.skip != "cross":
        print("cross-dataset APGR (cheapest↔top pair):")
        cross(datasets)


if __name__ == "__main__":
    main()
