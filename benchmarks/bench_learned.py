"""Learned-router inference time per prompt, p50/p99, beside the rule policy in the same run.

Trains a router on the fly (on ``TIERWISE_EVAL_DATA``'s datasets when present, else on
synthetic prompts), then scores every prompt once, in-process, as the ``learned`` strategy does.
The rule policy's ``Router.decide`` on the same prompts is the baseline (this machine is shared
and noisy; the ratio is the stable figure). Budget: p99 <= 0.5 ms per prompt.

    TIERWISE_EVAL_DATA=path/to/data python benchmarks/bench_learned.py [mmlu_pro]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from tierwise.analysis.evaluation.dataset import (
    Dataset,
    Row,
    data_dir,
    load_dataset,
    resolve_dataset,
)
from tierwise.analysis.training.train import examples_from_dataset, fit
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router

BUDGET_P99_MS = 0.5


def synthetic(n: int = 2000) -> Dataset:
    """Prompts of realistic length with a learnable signal, when no data folder is given."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    rows = []
    for i in range(n):
        hard = rng.random() < 0.3
        text = " ".join(rng.choices(words, k=rng.randint(20, 400))) + (" prove" if hard else "")
        scores = {Tier.HAIKU: 0.0 if hard else 1.0, Tier.OPUS: 1.0}
        rows.append(Row(str(i), text, None, scores, {Tier.HAIKU: 100, Tier.OPUS: 100}))
    return Dataset("synthetic", (Tier.HAIKU, Tier.OPUS), tuple(rows))


def percentiles(run: Callable[[Row], object], rows: tuple[Row, ...]) -> tuple[float, float]:
    for row in rows[:200]:  # warm-up
        run(row)
    times = []
    for row in rows:
        start = time.perf_counter()
        run(row)
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", nargs="?", default="mmlu_pro")
    args = parser.parse_args()
    base = data_dir()
    dataset = load_dataset(resolve_dataset(args.dataset, base)) if base else synthetic()
    router = fit(examples_from_dataset(dataset), dataset.tiers)
    rules = Router()
    learned_p50, learned_p99 = percentiles(
        lambda r: router.scores(r.prompt, r.category), dataset.rows
    )
    rule_p50, rule_p99 = percentiles(
        lambda r: rules.decide(RouteRequest(text=r.prompt)), dataset.rows
    )
    mean_chars = sum(len(r.prompt) for r in dataset.rows) / len(dataset)
    print(f"{dataset.name}: {len(dataset)} prompts, mean {mean_chars:.0f} chars")
    print(f"learned router scores: p50 {learned_p50:.3f} ms, p99 {learned_p99:.3f} ms")
    print(f"rule policy decide:    p50 {rule_p50:.3f} ms, p99 {rule_p99:.3f} ms")
    print(
        f"ratio learned/rules: p50 {learned_p50 / rule_p50:.2f}x, p99 {learned_p99 / rule_p99:.2f}x"
    )
    verdict = "within" if learned_p99 <= BUDGET_P99_MS else "OVER"
    print(f"p99 budget {BUDGET_P99_MS} ms: {verdict}")


if __name__ == "__main__":
    main()
