"""The proxy's recorder: records built in the serving process, written by a child process.

The child is a real ``python -m tierwise.ledger.writer_child`` on a real SQLite file; the tests
kill it, make its store unusable, and close with records in flight, and count what arrives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tierwise.core.policy import default_policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Attempt, Outcome
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Spool, Store
from tierwise.ledger.writer_process import ProcessRecorder
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def records(count: int, start: int = 0) -> list[DecisionRecord]:
    return [
        DecisionRecord(
            request_id=f"req_proc_{n:07d}",
            time=T0 + timedelta(milliseconds=n),
            endpoint="messages",
            status=200,
            chosen_model="claude-haiku-4-5",
            trace=({"strategy": "keywords", "action": "decide"},),
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("TIERWISE_DATA_DIR", str(tmp_path / "data"))
    return Store(str(tmp_path / "records.db"))


def stored_ids(store: Store) -> set[str]:
    return {record.request_id for record in Store(str(store.path)).records()}


def test_records_reach_the_store_through_the_child(store: Store) -> None:
    recorder = ProcessRecorder(store)
    sent = records(300)
    for record in sent:
        recorder.record(record)
    assert recorder.flush(30)
    flushed = recorder.stats()
    assert (flushed.recorded, flushed.written, flushed.dropped) == (300, 300, 0)
    assert stored_ids(store) == {r.request_id for r in sent}
    stats = recorder.close()
    assert (stats.written, stats.spooled, stats.queued) == (300, 0, 0)
    stored = Store(str(store.path)).records()
    assert stored[0].trace == sent[0].trace
    assert stored[0].chosen_model == "claude-haiku-4-5"


def test_close_writes_out_what_is_still_queued(store: Store) -> None:
    recorder = ProcessRecorder(store, ship_interval=10.0)  # nothing would leave on its own
    for record in records(50):
        recorder.record(record)
    stats = recorder.close()
    assert stats.written == 50
    assert len(stored_ids(store)) == 50
    assert recorder.close().written == 50  # idempotent


def test_the_child_ignores_the_signals_a_terminal_or_systemd_sends_the_group(
    store: Store,
) -> None:
    recorder = ProcessRecorder(store)
    recorder.record(records(1)[0])
    assert recorder.flush(30)
    child = recorder._child
    assert child is not None
    child.process.send_signal(2)  # SIGINT
    child.process.send_signal(15)  # SIGTERM
    time.sleep(0.3)
    assert child.process.poll() is None
    for record in records(10, start=1):
        recorder.record(record)
    assert recorder.close().written == 11


def test_a_killed_child_is_replaced_and_nothing_handed_over_after_is_lost(store: Store) -> None:
    recorder = ProcessRecorder(store)
    first = records(20)
    for record in first:
        recorder.record(record)
    assert recorder.flush(30)
    child = recorder._child
    assert child is not None
    child.process.kill()
    child.process.wait(10)
    deadline = time.monotonic() + 10
    while child.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not child.alive
    assert recorder.stats().last_error == "the record writer process exited"
    later = records(30, start=20)
    for record in later:
        recorder.record(record)
    assert recorder.flush(30)  # spooled here, or written by the next child
    stats = recorder.close()
    assert stats.dropped == 0
    spool = Spool(store.spool().directory)
    waiting = spool.size().records
    assert len(stored_ids(store)) + waiting == 50
    # whatever waits in the spool comes in with the next writer
    again = ProcessRecorder(store)
    again.close()
    assert len(stored_ids(store)) == 50


def test_an_unusable_store_spools_in_the_child_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERWISE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "a-directory.db").mkdir()
    store = Store(str(tmp_path / "a-directory.db"))
    recorder = ProcessRecorder(store)
    for record in records(25):
        recorder.record(record)
    assert recorder.flush(30)
    stats = recorder.stats()
    assert stats.spooled == 25
    assert stats.written == 0
    assert not stats.store_available
    assert stats.last_error is not None
    recorder.close()
    assert store.spool().size().records == 25


def test_records_after_close_go_to_the_spool(store: Store) -> None:
    recorder = ProcessRecorder(store)
    recorder.close()
    recorder.record(records(1)[0])
    assert recorder.stats().spooled == 1
    assert store.spool().size().records == 1


def test_a_record_that_cannot_be_built_is_counted_not_raised(store: Store) -> None:
    recorder = ProcessRecorder(store)
    recorder.record(object())  # type: ignore[arg-type]
    stats = recorder.close()
    assert (stats.recorded, stats.dropped, stats.written) == (1, 1, 0)


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        ProcessRecorder(Store("sqlite://"))


def test_a_program_that_forgets_close_still_writes_everything(tmp_path: Path) -> None:
    db = tmp_path / "forgot.db"
    program = f"""
from datetime import UTC, datetime
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.ledger.writer_process import ProcessRecorder
recorder = ProcessRecorder(Store({str(db)!r}))
for n in range(40):
    recorder.record(DecisionRecord(request_id=f"req_{{n}}", time=datetime.now(UTC),
                                   endpoint="messages", status=200))
"""
    env = {**os.environ, "TIERWISE_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", program], check=True, env=env, timeout=60)
    assert Store(str(db)).count() == 40


CLAUDE_CODE = sorted((Path(__file__).parent / "data" / "claude_code").glob("*.json"))


def routed_outcomes() -> list[Outcome]:
    """Outcomes of real routed requests: plain prompts, a prefill, cache breakpoints, code, and
    every captured Claude Code Messages body."""
    router = MessagesRouter(Router(default_policy()))
    bodies: list[dict[str, Any]] = [
        {"messages": [{"role": "user", "content": 'Reformat this JSON: {"a": 1}'}]},
        {
            "messages": [
                {"role": "user", "content": "Design a multi-region ledger. Traceback (most"},
                {"role": "assistant", "content": "Here is"},
            ]
        },
        {
            "system": [
                {"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [{"role": "user", "content": "fix the bug in src/app.py\n```py\nx=1\n```"}],
        },
    ]
    for path in CLAUDE_CODE:
        fixture = json.loads(path.read_text())
        if fixture["path"].startswith("/v1/messages") and "count_tokens" not in fixture["path"]:
            bodies.append(fixture["body"])
    outcomes = []
    for n, body in enumerate(bodies):
        body = {"max_tokens": 256, **body, "model": "auto"}
        routed = router.route(body, Hints())
        outcomes.append(
            Outcome(
                request_id=f"req_inputs_{n}",
                endpoint="messages",
                status=200,
                stream=False,
                requested_model="auto",
                served_model=routed.model,
                routed=routed,
                attempts=(Attempt(routed.model, 200, None, 0.5),),
                usage=None,
                cost=None,
                baseline_cost=None,
                decision_latency=0.0001,
                upstream_latency=0.5,
                ttfb=0.5,
                total_latency=0.6,
            )
        )
    return outcomes


def test_routing_inputs_captured_in_the_child_equal_those_captured_in_process(
    store: Store,
) -> None:
    outcomes = routed_outcomes()
    assert len(outcomes) >= 10
    recorder = ProcessRecorder(store)
    for outcome in outcomes:
        recorder.record(outcome)
    recorder.close()
    stored = {r.request_id: r for r in Store(str(store.path)).records()}
    assert len(stored) == len(outcomes)
    for outcome in outcomes:
        expected = DecisionRecord.from_outcome(outcome)
        assert expected.routing_inputs is not None
        got = stored[outcome.request_id]
        assert got.routing_inputs == expected.routing_inputs, outcome.request_id
        assert got.trace == expected.trace
        assert got.context_tokens == expected.context_tokens


def test_serve_writes_through_a_child_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierwise.cli.serve import _recorder
    from tierwise.ledger.recorder import Recorder

    monkeypatch.setenv("TIERWISE_DATA_DIR", str(tmp_path / "data"))
    db = str(tmp_path / "serve.db")
    chosen = _recorder(db, default_policy(), store_prompts=False)
    assert isinstance(chosen, ProcessRecorder)
    chosen.close()
    in_memory = _recorder("sqlite://", default_policy(), store_prompts=False)
    assert isinstance(in_memory, Recorder)
    in_memory.close()
    monkeypatch.setenv("TIERWISE_RECORD_WRITER", "thread")
    threaded = _recorder(db, default_policy(), store_prompts=False)
    assert isinstance(threaded, Recorder)
    threaded.close()
