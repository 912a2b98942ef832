"""What the Prometheus hook costs per request: µs per ``ProxyMetrics.observe(outcome)``.

The outcomes are real ones: the bundled demo workload routed by the default policy, priced
exactly, one in twenty with a fallback attempt and one in ten with an error. As a same-run
baseline it times a bare Python function call over the same outcomes, and prints the ratio,
so the figure can be compared across noisy machines. Run
``.venv/bin/python benchmarks/bench_metrics.py``.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

from tierwise.core.usage import Usage
from tierwise.demo import load_workload
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Attempt, Outcome, price
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.metrics import ProxyMetrics

ROUNDS = 30
COPIES = 40  # the workload is repeated so each round times a few thousand calls


def make_outcomes() -> list[Outcome]:
    """One outcome per workload task, as the proxy would report them."""
    router = MessagesRouter(Router())
    outcomes: list[Outcome] = []
    for number, task in enumerate(load_workload()):
        body = {
            "model": "auto",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": task.prompt}],
        }
        routed = router.route(body, Hints())
        usage = Usage(input_tokens=len(task.prompt) // 4 + 20, output_tokens=300 + number)
        attempts = [Attempt(routed.model, 200, None, 0.8)]
        served = routed.model
        if number % 20 == 7:  # a fallback: the first model was overloaded
            attempts = [Attempt(routed.model, 529, "overloaded_error", 0.3), attempts[0]]
            served = "claude-sonnet-5-5"
        error = number % 10 == 3
        decision = routed.decision
        outcomes.append(
            Outcome(
                request_id=f"req_{number}",
                endpoint="messages",
                status=529 if error else 200,
                stream=number % 2 == 0,
                requested_model="auto",
                served_model=None if error else served,
                routed=routed,
                attempts=tuple(attempts),
                usage=None if error else usage,
                cost=None if error else price(usage, served),
                baseline_cost=None
                if error or decision is None
                else price(usage, decision.baseline_model),
                decision_latency=0.00004,
                upstream_latency=0.9,
                ttfb=None if error else 0.95,
                total_latency=1.2,
                error_type="overloaded_error" if error else None,
            )
        )
    return outcomes


def per_call_us(
    hook: Callable[[Outcome], object], outcomes: Sequence[Outcome]
) -> tuple[float, float]:
    """The best and the median round's mean µs per call (after a warm-up round)."""
    for outcome in outcomes:
        hook(outcome)
    rounds: list[float] = []
    gc.disable()
    try:
        for _ in range(ROUNDS):
            start = time.perf_counter_ns()
            for outcome in outcomes:
                hook(outcome)
            rounds.append((time.perf_counter_ns() - start) / 1000 / len(outcomes))
    finally:
        gc.enable()
    return min(rounds), statistics.median(rounds)


def bare(outcome: Outcome) -> None:
    """The cheapest possible hook: a Python call that does nothing."""


def exact_money(outcome: Outcome) -> object:
    """The part of ``observe`` that is exact pricing: the two micro-dollar totals."""
    cost, baseline = outcome.cost, outcome.baseline_cost
    return (cost.total_micro_usd if cost else 0, baseline.total_micro_usd if baseline else 0)


def main() -> None:
    outcomes = make_outcomes() * COPIES
    metrics = ProxyMetrics()
    observe = per_call_us(metrics.observe, outcomes)
    money = per_call_us(exact_money, outcomes)
    call = per_call_us(bare, outcomes)
    scrape_start = time.perf_counter()
    body, _ = metrics.exposition()
    scrape_ms = (time.perf_counter() - scrape_start) * 1000
    print(f"outcomes per round: {len(outcomes)}, rounds: {ROUNDS}   (best / median round)")
    print(f"observe(outcome):   {observe[0]:6.2f} / {observe[1]:6.2f} µs per call")
    print(f"  of which pricing: {money[0]:6.2f} / {money[1]:6.2f} µs (Cost.total_micro_usd x2)")
    print(f"bare call:          {call[0]:6.3f} / {call[1]:6.3f} µs per call")
    ratios = observe[0] / call[0], observe[1] / call[1]
    print(f"ratio:              {ratios[0]:6.0f} / {ratios[1]:6.0f} x a bare call")
    print(f"one scrape:         {scrape_ms:6.1f} ms for {len(body) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
