"""Decision latency of the default local pipeline, on a 2 KB and a 200 KB prompt.

Prints p50/p99 per prompt size and, as a same-run baseline, the time to ``json.loads`` the
Messages request body carrying the same prompt (work every proxy does anyway), so the figures
can be compared across noisy machines. Run ``make bench``.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from functools import partial

from tierwise.core.request import RouteRequest
from tierwise.learned.pipeline import Router

INSTRUCTION = (
    "The checkout page sometimes shows a stale cart total after the user removes an item. "
    "Can you find why and fix it? Here is the component and the hook it uses:\n\n"
)
CODE_LINE = "    const total = items.reduce((sum, item) => sum + item.price * item.qty, 0);\n"


def make_prompt(size: int) -> str:
    """A realistic prompt: an instruction followed by pasted code, ``size`` characters long."""
    body = CODE_LINE * (size // len(CODE_LINE) + 1)
    return (INSTRUCTION + "```tsx\n" + body)[: size - 4] + "\n```"


def percentiles(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """p50 and p99 in microseconds over ``repeats`` timed calls (after a warm-up)."""
    for _ in range(min(200, repeats)):
        run()
    samples: list[float] = []
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter_ns()
            run()
            samples.append((time.perf_counter_ns() - start) / 1000)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    router = Router()
    print(f"{'prompt':>8} {'decide p50':>11} {'decide p99':>11} {'json p50':>9} {'ratio':>6}")
    results: dict[int, float] = {}
    for size, repeats in ((2_000, 20_000), (200_000, 500)):
        prompt = make_prompt(size)
        request = RouteRequest(text=prompt)
        body = json.dumps(
            {"model": "auto", "max_tokens": 1024, "messages": [{"role": "user", "content": prompt}]}
        )
        p50, p99 = percentiles(partial(router.decide, request), repeats)
        json_p50, _ = percentiles(partial(json.loads, body), repeats)
        results[size] = p50
        ratio = p50 / json_p50
        print(f"{size // 1000:>6}KB {p50:>9.1f}µs {p99:>9.1f}µs {json_p50:>7.1f}µs {ratio:>5.2f}x")
    growth = results[200_000] / results[2_000]
    print(f"200 KB / 2 KB decision time: {growth:.1f}x for 100x the text (linear would be ≤ 100x)")


if __name__ == "__main__":
    main()
