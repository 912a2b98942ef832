"""The offline demo: route the bundled workload and price it, without any network call."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from tierwise.core.recommend import Recommendation, recommend
from tierwise.core.tiers import Tier
from tierwise.demo import load_workload
from tierwise.learned.pipeline import Router

ASSUMED_OUTPUT_TOKENS = 600


@dataclass(frozen=True)
class OfflineDemo:
    """What routing the demo workload would cost, against sending it all to the top tier."""

    rows: list[tuple[str, Recommendation]]
    decision_us: list[float]

    @property
    def tier_mix(self) -> Counter[Tier]:
        """How many requests each tier serves."""
        return Counter(rec.decision.tier for _, rec in self.rows)

    @property
    def routed_cost(self) -> Decimal:
        """Estimated cost of the workload as routed."""
        return sum((rec.estimated_cost.total for _, rec in self.rows), Decimal(0))

    @property
    def baseline_cost(self) -> Decimal:
        """Estimated cost of the same workload on the baseline (top-tier) model."""
        return sum((rec.baseline_cost.total for _, rec in self.rows), Decimal(0))

    def decision_percentile(self, share: float) -> float:
        """Decision latency in microseconds at ``share`` (0.5 = median)."""
        ordered = sorted(self.decision_us)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_offline_demo(router: Router | None = None) -> OfflineDemo:
    """Route and price every task of the bundled workload."""
    router = router or Router()
    rows: list[tuple[str, Recommendation]] = []
    timings: list[float] = []
    for task in load_workload():
        request = task.route_request()
        started = time.perf_counter()
        router.decide(request)
        timings.append((time.perf_counter() - started) * 1e6)
        rows.append(
            (task.id, recommend(request, router=router, output_tokens=ASSUMED_OUTPUT_TOKENS))
        )
    return OfflineDemo(rows=rows, decision_us=timings)
