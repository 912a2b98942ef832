"""Recording cost: the sustained write rate of the store, and ``record()`` on the request path.

For SQLite (always) and PostgreSQL (when its binaries are installed: a private server is
started with default durability, as the tests do), prints:

* ``insert_many``: records/s for batches of 500 realistic records (trace, attempts, usage,
  exact costs), against the same rows written with the bare driver (``executemany``) in the
  same run, so the ratio shows what SQLAlchemy and the schema's types cost;
* the recorder end to end: ``record(outcome)`` for every outcome as fast as possible, then
  ``close()``; records/s including the conversion of each ``Outcome`` to a record;
* ``record()`` on the request path: p50/p99 in µs per call, against ``SimpleQueue.put``;
* the spool (the outage path): records/s appended with an ``fsync`` per batch.

Run ``python benchmarks/bench_recorder.py [--records N]``. Target: ≥ 5,000 records/s on SQLite.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import queue
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tierwise.core.policy import default_policy
from tierwise.core.pricing import cost
from tierwise.core.usage import Usage
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Attempt, Outcome
from tierwise.ledger.recorder import Recorder
from tierwise.ledger.records import DecisionRecord, policy_fingerprint
from tierwise.ledger.store import Spool, Store
from tierwise.ledger.store.schema import RECORD_COLUMNS
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter

BATCH = 500
PROMPTS = [
    ("Reformat this JSON so that it is indented", None),
    ("Write unit tests for the parser module", "test"),
    ("Design the architecture of a multi-region payment ledger", "architect"),
    ("Summarize the following meeting notes", None),
]


def make_outcomes(count: int) -> list[Outcome]:
    """``count`` outcomes of routed requests, distinct request ids, realistic contents."""
    router = MessagesRouter(Router(default_policy()))
    templates: list[Outcome] = []
    for index, (prompt, task) in enumerate(PROMPTS):
        body = {
            "model": "auto",
            "max_tokens": 1024,
            "metadata": {"user_id": f"user-{index}"},
            "messages": [{"role": "user", "content": prompt}],
        }
        routed = router.route(body, Hints(task_type=task, domain="backend-api"))
        usage = Usage(input_tokens=1200 + index, cache_read_tokens=4000, output_tokens=350)
        templates.append(
            Outcome(
                request_id="",
                endpoint="messages",
                status=200,
                stream=index % 2 == 0,
                requested_model="auto",
                served_model=routed.model,
                routed=routed,
                attempts=(Attempt(routed.model, 200, None, 0.8),),
                usage=usage,
                cost=cost(usage, routed.model),
                baseline_cost=cost(usage, "claude-opus-5-5"),
                decision_latency=0.00004,
                upstream_latency=0.8,
                ttfb=0.81,
                total_latency=1.2,
                caller="bench",
            )
        )
    return [
        replace(templates[n % len(templates)], request_id=f"req_bench_{n:09d}")
        for n in range(count)
    ]


def insert_rate(store: Store, records: Sequence[DecisionRecord]) -> float:
    """Records/s through ``Store.insert_many`` in batches of ``BATCH``."""
    started = time.perf_counter()
    for start in range(0, len(records), BATCH):
        store.insert_many(records[start : start + BATCH])
    elapsed = time.perf_counter() - started
    assert store.count() == len(records)
    return len(records) / elapsed


def raw_rows(records: Sequence[DecisionRecord]) -> list[tuple[Any, ...]]:
    """The rows as the bare driver would take them (JSON and decimals as text)."""
    rows = []
    for record in records:
        row = record.as_row()
        values = []
        for name in RECORD_COLUMNS:
            value = row[name]
            if isinstance(value, tuple | dict):  # the JSON columns
                value = json.dumps(value, separators=(",", ":"))
            elif name == "time":
                value = value.isoformat()
            elif value is not None and name.endswith("_usd") and "micro" not in name:
                value = format(value, "f")
            values.append(value)
        rows.append(tuple(values))
    return rows


def sqlite_baseline(path: Path, records: Sequence[DecisionRecord]) -> float:
    """Records/s for the same rows with ``sqlite3.executemany`` into a plain table."""
    rows = raw_rows(records)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    columns = ", ".join(f'"{c}"' for c in RECORD_COLUMNS)
    conn.execute(f"CREATE TABLE raw (id INTEGER PRIMARY KEY, {columns}, UNIQUE(request_id))")
    marks = ", ".join("?" for _ in RECORD_COLUMNS)
    sql = f"INSERT INTO raw ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(sql, rows[start : start + BATCH])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def postgres_baseline(url: str, records: Sequence[DecisionRecord]) -> float:
    """Records/s for the same rows with psycopg's ``executemany`` into a plain table."""
    import psycopg

    rows = raw_rows(records)
    columns = ", ".join(f'"{c}"' for c in RECORD_COLUMNS)
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE raw (id bigserial PRIMARY KEY, "
            + ", ".join(f'"{c}" text' for c in RECORD_COLUMNS)
            + ", UNIQUE(request_id))"
        )
        conn.commit()
        marks = ", ".join("%s" for _ in RECORD_COLUMNS)
        sql = f"INSERT INTO raw ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        text_rows = [tuple(None if v is None else str(v) for v in row) for row in rows]
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            with conn.cursor() as cursor:
                cursor.executemany(sql, text_rows[start : start + BATCH])
            conn.commit()
        elapsed = time.perf_counter() - started
    return len(rows) / elapsed


def recorder_rate(store: Store, outcomes: Sequence[Outcome]) -> tuple[float, Any]:
    """Records/s from the first ``record()`` to the end of ``close()``."""
    recorder = Recorder(
        store, policy_fingerprint=policy_fingerprint(default_policy()), max_queue=len(outcomes)
    )
    recorder.flush()
    started = time.perf_counter()
    for outcome in outcomes:
        recorder.record(outcome)
    stats = recorder.close()
    elapsed = time.perf_counter() - started
    return len(outcomes) / elapsed, stats


def call_cost(store: Store, outcomes: Sequence[Outcome]) -> tuple[float, float, float, float]:
    """p50/p99 µs of ``record()``, and of ``SimpleQueue.put`` as the same-run baseline."""
    recorder = Recorder(store, max_queue=len(outcomes) + 1, flush_interval=0.2)
    recorder.flush()

    def timed(call: Callable[[Outcome], object]) -> list[float]:
        samples = []
        gc.disable()
        try:
            for outcome in outcomes:
                began = time.perf_counter_ns()
                call(outcome)
                samples.append((time.perf_counter_ns() - began) / 1000)
        finally:
            gc.enable()
        samples.sort()
        return samples

    recorded = timed(recorder.record)
    recorder.close()
    simple: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
    baseline = timed(simple.put)
    p99 = int(len(recorded) * 0.99) - 1
    return (
        statistics.median(recorded),
        recorded[p99],
        statistics.median(baseline),
        baseline[p99],
    )


def spool_rate(directory: Path, records: Sequence[DecisionRecord]) -> float:
    spool = Spool(directory)
    started = time.perf_counter()
    for start in range(0, len(records), BATCH):
        spool.append(records[start : start + BATCH])
    elapsed = time.perf_counter() - started
    spool.close()
    return len(records) / elapsed


def load_pgcluster() -> Any:
    """``tests/store/pgcluster.py`` (shared with the tests), loaded by path."""
    path = Path(__file__).resolve().parent.parent / "tests" / "store" / "pgcluster.py"
    spec = importlib.util.spec_from_file_location("tierwise_bench_pgcluster", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def report(
    backend: str,
    make_store: Callable[[str], Store],
    baseline: Callable[[], float],
    outcomes: Sequence[Outcome],
    records: Sequence[DecisionRecord],
) -> None:
    store = make_store("insert")
    store.migrate()
    rate = insert_rate(store, records)
    store.close()
    raw = baseline()
    print(
        f"{backend:<10} insert_many   {rate:>9,.0f} records/s   "
        f"bare driver {raw:>9,.0f} records/s   ratio {rate / raw:.2f}"
    )
    store = make_store("recorder")
    rate, stats = recorder_rate(store, outcomes)
    store.close()
    print(
        f"{backend:<10} recorder      {rate:>9,.0f} records/s   "
        f"(record + convert + write + close; written {stats.written:,}, dropped {stats.dropped})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=50_000)
    count = parser.parse_args().records
    outcomes = make_outcomes(count)
    records = [DecisionRecord.from_outcome(o) for o in outcomes]
    started = time.perf_counter()
    for outcome in outcomes[:10_000]:
        DecisionRecord.from_outcome(outcome)
    convert_us = (time.perf_counter() - started) / min(count, 10_000) * 1e6
    print(f"{count:,} records per run, batches of {BATCH}")
    print(f"DecisionRecord.from_outcome: {convert_us:.1f} µs per outcome (on the writer thread)")

    work = Path(tempfile.mkdtemp(prefix="tierwise-bench-"))
    try:
        p50, p99, q50, q99 = call_cost(Store(str(work / "calls.db")), outcomes[:20_000])
        print(
            f"record() on the request path: p50 {p50:.2f} µs, p99 {p99:.2f} µs   "
            f"(SimpleQueue.put p50 {q50:.2f} µs, p99 {q99:.2f} µs; ratio {p50 / q50:.1f}x)"
        )
        report(
            "sqlite",
            lambda name: Store(str(work / f"{name}.db")),
            lambda: sqlite_baseline(work / "raw.db", records),
            outcomes,
            records,
        )
        print(f"spool      append+fsync  {spool_rate(work / 'spool', records):>9,.0f} records/s")

        pgcluster = load_pgcluster()
        bindir, missing = pgcluster.find_bindir()
        if bindir is None:
            print(f"postgresql skipped: the '{missing}' binary is not installed")
            return
        with pgcluster.running_cluster(bindir, durable=True) as cluster:
            databases = {name: cluster.create_database() for name in ("insert", "recorder", "raw")}
            report(
                "postgresql",
                lambda name: Store(cluster.url(databases[name])),
                lambda: postgres_baseline(cluster.url(databases["raw"]), records),
                outcomes,
                records,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
