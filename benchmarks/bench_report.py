"""How long ``build_report`` takes over many records on SQLite.

Writes ``--records`` synthetic decision records (default 100,000, spread over 30 days: four
tiers, task types, callers, 5 % escalations, 2 % errors, traces and attempts as the recorder
writes them) with the store's ``insert_many``, then times ``build_report`` with each ``--by``
breakdown. For scale, the same run times what the report avoids: loading every record of the
period into Python (``Store.records``).

Run ``python benchmarks/bench_report.py [--records N] [--repeat N]``. Target: well under a few
seconds for 100,000 records.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tierwise.analysis.report import BREAKDOWNS, build_report
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

BATCH = 5_000
TIERS = (
    ("haiku", "claude-haiku-4-5", 1),
    ("sonnet", "claude-sonnet-4-5", 3),
    ("opus", "claude-opus-4-5", 5),
)
TASKS = ("formatting", "code", "review", "architecture", "summary", "translation")
TRACE = tuple({"strategy": name, "action": "pass", "reason": "no signal"} for name in TASKS[:4])


def synthetic(count: int, until: datetime, seed: int = 7) -> list[DecisionRecord]:
    """``count`` records over the 30 days before ``until``."""
    rng = random.Random(seed)
    span = timedelta(days=30).total_seconds()
    # in time order, as the recorder writes them
    offsets = sorted((rng.random() * span for _ in range(count)), reverse=True)
    records = []
    for index, offset in enumerate(offsets):
        tier, model, weight = rng.choice(TIERS)
        failed = rng.random() < 0.02
        escalated = rng.random() < 0.05
        attempts: tuple[dict[str, Any], ...] = ({"model": model, "status": 200, "kind": "first"},)
        if escalated:
            attempts += ({"model": model, "status": 200, "kind": "escalation"},)
        cost = None if failed else rng.randint(200, 5_000) * weight
        baseline = None if cost is None else cost * 5 // weight
        records.append(
            DecisionRecord(
                request_id=f"bench_{index:08d}",
                time=until - timedelta(seconds=offset),
                endpoint="messages",
                status=529 if failed else 200,
                requested_model="auto",
                chosen_model=model,
                chosen_tier=tier,
                served_model=None if failed else model,
                routed=True,
                task_type=rng.choice(TASKS),
                domain=rng.choice(("frontend", "backend", "data", None)),
                user_tier=rng.choice(("free", "paid", "enterprise")),
                caller=f"service-{index % 7}",
                reason="routing table: task type",
                trace=TRACE,
                cost_micro_usd=cost,
                baseline_cost_micro_usd=baseline,
                savings_micro_usd=None if cost is None or baseline is None else baseline - cost,
                decision_latency=rng.lognormvariate(-9.5, 0.5),
                upstream_latency=None if failed else rng.lognormvariate(0, 0.6),
                total_latency=rng.lognormvariate(0, 0.6),
                attempts=attempts,
                quality_score=rng.uniform(0.85, 1.0) if index % 10 == 0 else None,
            )
        )
    return records


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` runs of ``action``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    until = datetime.now(UTC)
    since = until - timedelta(days=30)
    with (
        tempfile.TemporaryDirectory(prefix="tierwise-bench-report-") as directory,
        Store(str(Path(directory) / "tierwise.db")) as store,
    ):
        store.migrate()
        records = synthetic(args.records, until)
        started = time.perf_counter()
        for start in range(0, len(records), BATCH):
            store.insert_many(records[start : start + BATCH])
        written = time.perf_counter() - started
        print(f"SQLite, {store.count():,} records written in {written:.1f} s")

        def report(by: str | None) -> Callable[[], object]:
            return lambda: build_report(store, since=since, until=until, by=by)

        load_all = timed(lambda: store.records(since=since, until=until), 1)
        plain = timed(report(None), args.repeat)
        print(f"  {'build_report':<28}{plain * 1000:8.1f} ms (median of {args.repeat})")
        for by in BREAKDOWNS:
            took = timed(report(by), args.repeat)
            print(f"  {'build_report --by ' + by:<28}{took * 1000:8.1f} ms")
        print(
            f"  {'loading every record':<28}{load_all * 1000:8.1f} ms "
            f"(build_report takes {plain / load_all:.0%} of that)"
        )


if __name__ == "__main__":
    main()
