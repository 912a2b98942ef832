"""The recorder: batches off the request path, never blocks or raises, spools, flushes on close.

Outages of real databases are in ``tests/store/test_outage.py``; here the store is a SQLite
file, sometimes wrapped to fail or hang on purpose. The end-to-end tests send requests through
the proxy with the official SDK (and through ``tierwise serve --db`` and the demo) and check
that the store holds one record per request with the right models and costs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anthropic
import pytest

from tierwise.core.policy import default_policy
from tierwise.demo import load_workload
from tierwise.demo.live import run_live_demo
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.ledger.recorder import Recorder
from tierwise.ledger.records import DecisionRecord, policy_fingerprint
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer, serve_process

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Records:
    """Records with unique request ids."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def __call__(self, **fields: object) -> DecisionRecord:
        with self._lock:
            self._n += 1
            n = self._n
        values: dict[str, object] = {
            "request_id": f"req_rec_{n:07d}",
            "time": T0 + timedelta(milliseconds=n),
            "endpoint": "messages",
            "status": 200,
        }
        values.update(fields)
        return DecisionRecord(**values)  # type: ignore[arg-type]


class WatchedStore(Store):
    """A SQLite store that logs batch sizes and can be made to fail or to hang."""

    def __init__(self, url: str) -> None:
        super().__init__(url, busy_timeout=0.5)
        self.batches: list[int] = []
        self.fail: Callable[[Sequence[DecisionRecord]], bool] = lambda batch: False
        self.gate = threading.Event()
        self.gate.set()

    def insert_many(self, records: Sequence[DecisionRecord]) -> int:
        self.gate.wait()
        if self.fail(records):
            from tierwise.core.errors import StoreError

            raise StoreError("the test says the store is down")
        self.batches.append(len(records))
        return super().insert_many(records)


@pytest.fixture
def make() -> Records:
    return Records()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WatchedStore]:
    watched = WatchedStore(str(tmp_path / "tierwise.db"))
    yield watched
    watched.gate.set()
    watched.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_full_batches_are_written_at_once_and_the_rest_after_the_interval(
    store: WatchedStore, make: Records
) -> None:
    with Recorder(store, batch_size=10, flush_interval=60) as recorder:
        wait_until(lambda: store.status().applied != ())  # migrated at start-up
        for _ in range(25):
            recorder.record(make())
        wait_until(lambda: recorder.stats().written == 20)
        assert store.batches == [10, 10]
        assert recorder.stats().queued == 5
        assert recorder.flush(timeout=5)
        assert store.batches == [10, 10, 5]
    assert store.count() == 25


def test_a_partial_batch_waits_at_most_the_flush_interval(
    store: WatchedStore, make: Records
) -> None:
    with Recorder(store, batch_size=500, flush_interval=0.05) as recorder:
        started = time.monotonic()
        for _ in range(3):
            recorder.record(make())
        wait_until(lambda: recorder.stats().written == 3)
        assert time.monotonic() - started < 2
        assert store.batches == [3]


def test_close_writes_out_everything(store: WatchedStore, make: Records) -> None:
    recorder = Recorder(store, flush_interval=60)
    for _ in range(1234):
        recorder.record(make())
    stats = recorder.close()
    assert store.count() == 1234
    assert stats.recorded == stats.written == 1234
    assert (stats.spooled, stats.dropped, stats.queued) == (0, 0, 0)
    assert max(store.batches) <= 500
    assert recorder.close().written == 1234  # idempotent


def test_record_never_raises_and_counts_what_it_cannot_keep(
    store: WatchedStore, make: Records
) -> None:
    with Recorder(store) as recorder:
        recorder.record("not an outcome")  # type: ignore[arg-type]
        recorder.record(make())
    stats = recorder.stats()
    assert stats.dropped == 1
    assert stats.written == 1


def test_many_threads_record_at_once(store: WatchedStore, make: Records) -> None:
    recorder = Recorder(store, batch_size=100, flush_interval=0.01)

    def feed() -> None:
        for _ in range(500):
            recorder.record(make())

    threads = [threading.Thread(target=feed) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = recorder.close()
    assert store.count() == 4000
    assert stats.recorded == 4000
    assert stats.written == 4000
    assert stats.dropped == 0


def test_a_full_queue_spills_to_disk_instead_of_blocking(
    store: WatchedStore, make: Records
) -> None:
    recorder = Recorder(store, batch_size=10, max_queue=20, flush_interval=0.01)
    wait_until(lambda: store.status().applied != ())
    store.gate.clear()  # the database hangs: the writer is stuck inside a write
    started = time.monotonic()
    ids = []
    for _ in range(300):
        record = make()
        recorder.record(record)
        ids.append(record.request_id)
    assert time.monotonic() - started < 1.0  # record() did not wait for the database
    stats = recorder.stats()
    assert stats.queued <= 20  # memory stays bounded
    assert stats.spooled >= 300 - 20 - 10
    store.gate.set()
    recorder.close()
    assert sorted(r.request_id for r in store.records()) == sorted(ids)
    assert recorder.stats().dropped == 0
    assert not recorder.spool.has_pending()


def test_an_unavailable_store_spools_and_the_spool_is_replayed_first(
    store: WatchedStore, make: Records
) -> None:
    down = True
    store.fail = lambda batch: down
    recorder = Recorder(store, batch_size=50, flush_interval=0.01, retry_initial=0.02)
    first = [make() for _ in range(120)]
    for record in first:
        recorder.record(record)
    wait_until(lambda: recorder.stats().spooled == 120)
    assert recorder.stats().written == 0
    assert "the test says the store is down" in (recorder.stats().last_error or "")
    down = False
    wait_until(lambda: recorder.stats().replayed == 120)
    later = make()
    recorder.record(later)
    stats = recorder.close()
    times = [r.request_id for r in store.records()]
    assert times == sorted(times)  # the spool went in before the newer record
    assert times[-1] == later.request_id
    assert (stats.spooled, stats.replayed, stats.written) == (120, 120, 1)
    assert stats.store_available
    assert stats.last_error is None


def test_a_store_failing_mid_replay_loses_nothing_and_duplicates_nothing(
    store: WatchedStore, make: Records
) -> None:
    spool = store.spool()
    records = [make() for _ in range(300)]
    spool.append(records)
    spool.close()
    calls = 0

    def second_batch_fails(batch: Sequence[DecisionRecord]) -> bool:
        nonlocal calls
        calls += 1
        return calls == 2  # the database dies after the first replayed batch was committed

    store.fail = second_batch_fails
    recorder = Recorder(store, batch_size=100, retry_initial=0.02)
    wait_until(lambda: not recorder.spool.has_pending())
    stats = recorder.close()
    assert store.count() == 300
    assert stats.duplicates == 100  # the first batch was replayed twice, stored once
    assert stats.replayed == 300 + 100


def test_records_after_close_go_to_the_spool_and_the_next_run_brings_them_in(
    store: WatchedStore, make: Records
) -> None:
    recorder = Recorder(store)
    recorder.close()
    late = make()
    recorder.record(late)
    assert recorder.stats().spooled == 1
    with Recorder(store) as again:
        wait_until(lambda: again.stats().replayed == 1)
    assert store.get(late.request_id) == late


def test_a_hung_database_at_close_puts_the_rest_on_disk(store: WatchedStore, make: Records) -> None:
    recorder = Recorder(store, batch_size=10, flush_interval=0.01)
    wait_until(lambda: store.status().applied != ())
    store.gate.clear()
    ids = []
    for _ in range(35):
        record = make()
        recorder.record(record)
        ids.append(record.request_id)
    time.sleep(0.05)  # the writer takes a batch and hangs inside the write
    recorder.close(timeout=0.2)
    assert recorder.spool.size().records >= 35 - 10
    store.gate.set()
    with Recorder(store) as again:
        wait_until(lambda: not again.spool.has_pending())
    assert sorted(r.request_id for r in store.records()) == sorted(ids)


def test_records_the_database_refuses_are_set_aside(store: WatchedStore, make: Records) -> None:
    good = [make() for _ in range(5)]
    bad = make(endpoint=None)
    with Recorder(store) as recorder:
        for record in [*good[:2], bad, *good[2:]]:
            recorder.record(record)
    stats = recorder.stats()
    assert stats.rejected == 1
    assert stats.written == 5
    assert store.count() == 5
    kept = (recorder.spool.directory / "rejected").glob("*.jsonl")
    assert bad.request_id in "".join(path.read_text() for path in kept)


def test_record_is_cheap_on_the_request_path(store: WatchedStore, make: Records) -> None:
    records = [make() for _ in range(5000)]
    with Recorder(store, max_queue=10_000) as recorder:
        started = time.perf_counter()
        for record in records:
            recorder.record(record)
        per_call = (time.perf_counter() - started) / len(records)
    assert per_call < 200e-6  # microseconds in practice; generous for shared machines


# -- end to end ------------------------------------------------------------------------------


def test_the_proxy_records_every_request(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "proxy.db"))
    policy = default_policy()
    recorder = Recorder(store, policy_fingerprint=policy_fingerprint(policy))
    outcomes: list[Outcome] = []

    def hook(outcome: Outcome) -> None:
        outcomes.append(outcome)
        recorder.record(outcome)

    prompts = [
        "Reformat this JSON",
        "Design the architecture of a distributed payment system with exactly-once delivery",
        "Write unit tests for this function",
        "Summarize this paragraph",
    ]
    with FakeAnthropicServer() as fake:
        settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url))
        app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=hook)
        with (
            ProxyServer(app) as proxy,
            anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-x", max_retries=0) as client,
        ):
            for index in range(20):
                body = {
                    "model": "auto",
                    "max_tokens": 64,
                    "messages": [{"role": "user", "content": prompts[index % len(prompts)]}],
                }
                if index % 3 == 2:
                    with client.messages.stream(**body) as events:  # type: ignore[arg-type]
                        events.until_done()
                else:
                    client.messages.create(**body)  # type: ignore[call-overload]
            wait_until(lambda: len(outcomes) == 20)
    stats = recorder.close()
    assert stats.written == 20
    by_id = {record.request_id: record for record in store.records()}
    assert len(by_id) == 20
    for outcome in outcomes:
        record = by_id[outcome.request_id]
        assert outcome.cost is not None
        assert outcome.baseline_cost is not None
        assert record.served_model == outcome.served_model
        assert record.cost_usd == outcome.cost.total
        assert record.baseline_cost_usd == outcome.baseline_cost.total
        assert record.stream == outcome.stream
        assert record.policy_fingerprint == policy_fingerprint(policy)
    assert {r.chosen_tier for r in by_id.values()} >= {"haiku", "opus"}
    assert sum(r.savings_micro_usd or 0 for r in by_id.values()) > 0
    store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_serve_with_db_records_and_flushes_on_shutdown(tmp_path: Path) -> None:
    database = tmp_path / "serve.db"
    with (
        FakeAnthropicServer() as fake,
        serve_process("--upstream", fake.url, "--db", str(database)) as s,
        anthropic.Anthropic(base_url=s.url, api_key="k", max_retries=0) as client,
    ):
        for _ in range(3):
            client.messages.create(
                model="auto",
                max_tokens=20,
                messages=[{"role": "user", "content": "Reformat this JSON"}],
            )
    process, stderr = s.process, s.stderr
    assert process.returncode == 0, stderr
    assert f"recording decisions to {database}" in stderr
    assert "recorded 3 decision(s)" in stderr
    with Store(str(database)) as store:
        records = store.records()
    assert len(records) == 3
    assert all(r.served_model == "claude-haiku-5-5" for r in records)


def test_the_demo_records_into_the_store(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    result = run_live_demo(default_policy(), db=str(database))
    workload = load_workload()
    assert result.store == str(database)
    assert result.recorded == len(workload)
    with Store(str(database)) as store:
        records = store.records()
    assert len(records) == len(workload)
    assert {r.request_id for r in records} == {o.request_id for _, o in result.outcomes}
    routed = sum(r.cost_micro_usd or 0 for r in records)
    baseline = sum(r.baseline_cost_micro_usd or 0 for r in records)
    assert 0 < routed < baseline


def test_the_demo_can_run_without_recording(tmp_path: Path) -> None:
    result = run_live_demo(default_policy(), record=False)
    assert result.store is None
    assert result.recorded == 0


def test_a_program_that_forgets_close_still_writes_everything(tmp_path: Path) -> None:
    database = tmp_path / "forgot.db"
    code = (
        "from datetime import UTC, datetime\n"
        "from tierwise.ledger.recorder import Recorder\n"
        "from tierwise.ledger.records import DecisionRecord\n"
        "from tierwise.ledger.store import Store\n"
        f"recorder = Recorder(Store({str(database)!r}), flush_interval=60)\n"
        "for i in range(100):\n"
        "    recorder.record(DecisionRecord(f'req_{i}', datetime.now(UTC), 'messages', 200))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with Store(str(database)) as store:
        assert store.count() == 100
