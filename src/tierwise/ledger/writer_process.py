"""The proxy's recorder: records are built where a request ends and written by a child process.

In ``tierwise serve`` the thread recorder's work (building the record, binding some sixty
columns, the driver's inserts) competes with the event loop for the GIL, and every hand-over
costs more than the work itself: recording cost the proxy 245 µs of CPU per request, against
about 70 µs of work measured alone (``benchmarks/bench_recording.py``). ``ProcessRecorder``
keeps in the serving process only what cannot leave it: each record's field values are read on
the caller's thread as the request ends (after the response was sent), without its routing
inputs (the phrase scan, a third of the work, is left to the child: ``writer_child``), and
packed to bytes (``writer_wire``), which the garbage collector never scans; a sender thread,
which spends its time in ``write``, passes batches down a socket to a child process running a
plain ``Recorder`` on the same store. All that makes ``Recorder`` lossless (batches, the
spool, retries with backoff, replay) happens there.

If the child dies, the sender spools what it cannot hand over (the same spool directory, which
processes may share) and starts another child, which replays it. What a dead child held and had
not written yet (at most its flush interval of records) is lost, as a killed process's queue is.
The child ignores SIGINT and SIGTERM (a terminal or ``systemd`` signals the whole group): the
proxy drains its requests first, then ``close()`` tells the child to write out and exit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from operator import attrgetter, itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tierwise.ledger.recorder import DEFAULT_MAX_QUEUE, RecorderStats
from tierwise.ledger.records import (
    DEFAULT_PROMPT_CAP,
    FIELD_NAMES,
    DecisionRecord,
    record_fields,
)
from tierwise.ledger.writer_child import InputsJob, rebuild
from tierwise.ledger.writer_wire import pack
from tierwise.messages.inputs import Vocabulary
from tierwise.messages.pinning import needs_pinning
from tierwise.messages.sanitize import has_prefill

if TYPE_CHECKING:
    from tierwise.ledger.outcome import Outcome
    from tierwise.ledger.store import Store

_log = logging.getLogger("tierwise.ledger.writer_process")

SHIP_INTERVAL = 0.05  # seconds the oldest record may wait in this process before it is sent
SHIP_BATCH = 256  # records that are sent at once without waiting for the interval
RESTART_INITIAL = 1.0  # seconds before a dead child is replaced (doubling up to RESTART_MAX)
RESTART_MAX = 30.0
CHILD_MODULE = "tierwise.ledger.writer_child"
_COUNTERS = ("written", "spooled", "replayed", "rejected", "dropped", "duplicates")
_ZERO = RecorderStats(0, 0, 0, 0, 0, 0, 0, 0, False, None)
# A record travels as the tuple of its field values: one C call to take, where pickling the
# dataclass itself walks its fields in Python (a third of the cost of recording, measured)
_RECORD_VALUES = attrgetter(*FIELD_NAMES)
_FIELD_VALUES = itemgetter(*FIELD_NAMES)


@dataclass(eq=False)
class _Child:
    """One writer process, the parent's end of its pipe, and what it last said."""

    process: subprocess.Popen[bytes]
    conn: Connection
    stats: RecorderStats = _ZERO
    flushed: dict[int, bool] = field(default_factory=dict)
    final: RecorderStats | None = None  # its stats when it closed
    vocabularies: set[str] = field(default_factory=set)  # digests it was sent
    alive: bool = True


class ProcessRecorder:
    """Records outcomes into ``store`` through a child process, never blocking the caller on
    the database. The same interface as ``Recorder`` (``record``, ``flush``, ``close``,
    ``stats``, ``store``, ``spool``); the store must be a file or a server (not ``:memory:``).
    """

    def __init__(
        self,
        store: Store,
        *,
        policy_fingerprint: str | None = None,
        store_prompts: bool = False,
        prompt_cap: int = DEFAULT_PROMPT_CAP,
        max_queue: int = DEFAULT_MAX_QUEUE,
        ship_interval: float = SHIP_INTERVAL,
        writer_options: dict[str, Any] | None = None,
    ) -> None:
        if store.backend == "sqlite" and store.path is None:
            raise ValueError("an in-memory database cannot be written from another process")
        self.store = store
        self.spool = store.spool()
        self.policy_fingerprint = policy_fingerprint
        self.store_prompts = store_prompts
        self.prompt_cap = prompt_cap
        self._max_queue = max_queue
        self._ship_interval = ship_interval
        self._writer_options = dict(writer_options or {})

        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._queue: deque[bytes] = deque()
        self._oldest = 0.0  # when the oldest queued record arrived (monotonic)
        self._queued_total = 0  # records ever queued
        self._sent_total = 0  # records handed to a child or spooled here
        self._flushers = 0
        self._flush_seq = 0
        self._stopping = self._closed = False
        self._recorded = self._spooled = self._dropped = 0  # this process's own counters
        self._earlier = _ZERO  # the counters of children that are gone
        self._restart_at = 0.0
        self._restart_delay = RESTART_INITIAL
        self._vocabularies: dict[str, Vocabulary] = {}  # by digest: what each child is sent once
        self._child: _Child | None = None
        self._start_child()
        self._sender = threading.Thread(
            target=self._send_loop, name="tierwise-record-sender", daemon=True
        )
        self._sender.start()
        atexit.register(self._close_at_exit)

    # -- the request path -----------------------------------------------------------------

    def record(self, outcome: Outcome | DecisionRecord) -> None:
        """Build the record, queue its bytes for the writer process, return. Never raises."""
        try:
            values, job = self._convert(outcome)
            blob = pack(values, job)
        except Exception:  # never let recording break a request
            _log.exception("could not build the record of a request")
            with self._cond:
                self._recorded += 1
                self._dropped += 1
            return
        with self._cond:
            self._recorded += 1
            if len(self._queue) < self._max_queue and not self._closed:
                if not self._queue:
                    self._oldest = time.monotonic()
                    self._cond.notify_all()
                self._queue.append(blob)
                self._queued_total += 1
                if len(self._queue) == SHIP_BATCH:
                    self._cond.notify_all()
                return
        self._spool_here([DecisionRecord(*values)], sync=self._closed)
        if self._closed:  # nobody will release the file later: do it now
            with suppress(OSError):
                self.spool.close()

    __call__ = record

    def _convert(self, what: Outcome | DecisionRecord) -> tuple[tuple[Any, ...], InputsJob | None]:
        """The record's field values without its routing inputs, and what the child needs to
        capture them (scanning the text for the policy's phrases is a third of the work: it
        moves out). Values, not a ``DecisionRecord``: the child builds the record once."""
        if isinstance(what, DecisionRecord):
            return _RECORD_VALUES(what), None
        fields = record_fields(
            what,
            finished_at=datetime.now(UTC),
            policy_fingerprint=self.policy_fingerprint,
            store_prompt=self.store_prompts,
            prompt_cap=self.prompt_cap,
            routing_inputs=False,
        )
        return _FIELD_VALUES(fields), self._inputs_job(what)

    def _inputs_job(self, outcome: Outcome) -> InputsJob | None:
        routed = outcome.routed
        if routed is None or routed.request is None or routed.vocabulary is None:
            return None
        request, vocabulary = routed.request, routed.vocabulary
        if vocabulary.digest not in self._vocabularies:
            with self._cond:
                self._vocabularies[vocabulary.digest] = vocabulary
        try:
            prefill, pinning = has_prefill(routed.source_body), needs_pinning(routed.source_body)
        except Exception:  # the record is kept without its inputs, as from_outcome would
            return None
        return (
            request.text,
            request.system,
            request.context_tokens,
            request.task_tokens,
            request.background,
            prefill,
            pinning,
            vocabulary.digest,
        )

    # -- control ----------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded so far is in the store or a spool. ``False`` if
        ``timeout`` seconds passed first, or the writer process died holding records."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._queued_total
            self._flushers += 1
            self._cond.notify_all()
            try:
                if not self._cond.wait_for(lambda: self._sent_total >= target, _left(deadline)):
                    return False
            finally:
                self._flushers -= 1
            child = self._child
            if child is None or not child.alive:
                return True  # everything not handed over was spooled here
            self._flush_seq += 1
            seq = self._flush_seq
        if not self._send(child, ("flush", seq, _left(deadline))):
            return False
        with self._cond:
            self._cond.wait_for(lambda: seq in child.flushed or not child.alive, _left(deadline))
            return child.flushed.pop(seq, False)

    def close(self, timeout: float = 30.0) -> RecorderStats:
        """Send what is queued, let the writer process write out and exit, then return the
        counters. A writer stuck longer than ``timeout`` is killed (what it had not written
        is then in its spool or lost). Idempotent."""
        atexit.unregister(self._close_at_exit)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._sender.join(_left(deadline))
        child = self._child
        if child is not None and child.alive:
            if self._send(child, ("close", max(timeout - 5.0, 1.0))):
                with self._cond:
                    self._cond.wait_for(lambda: not child.alive, _left(deadline))
            try:
                child.process.wait(max(_left(deadline) or 0.0, 0.1))
            except subprocess.TimeoutExpired:
                _log.warning("the record writer process did not finish in time: stopping it")
                child.process.kill()
                child.process.wait(5.0)
        self._sender.join(5.0)  # a sender stuck on a full pipe fails over once the child is gone
        if child is not None:
            with suppress(OSError):
                child.conn.close()
        with self._cond:
            self._closed = True
            leftovers = list(self._queue)
            self._queue.clear()
        if leftovers:
            self._spool_blobs(leftovers)
        with suppress(OSError):
            self.spool.close()
        return self.stats()

    def stats(self) -> RecorderStats:
        """This process's counters with the writer's (as of its last report, at most
        ``STATS_EVERY`` seconds old; exact after ``flush`` and ``close``)."""
        with self._cond:
            child = self._child
            now = _ZERO if child is None else (child.final or child.stats)
            alive = child is not None and child.alive
            totals = {name: getattr(self._earlier, name) + getattr(now, name) for name in _COUNTERS}
            totals["spooled"] += self._spooled
            totals["dropped"] += self._dropped
            error = now.last_error
            if error is None and not alive and not self._closed:
                error = "the record writer process exited"
            return RecorderStats(
                recorded=self._recorded,
                queued=len(self._queue) + (now.queued if alive else 0),
                store_available=now.store_available and alive,
                last_error=error,
                **totals,
            )

    def __enter__(self) -> ProcessRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _close_at_exit(self) -> None:
        self.close(timeout=10.0)

    # -- the sender thread ----------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._ready():
                    wait = self._oldest + self._ship_interval - time.monotonic()
                    self._cond.wait(wait if self._queue else None)
                batch = list(self._queue)
                self._queue.clear()
                stopping = self._stopping
            if batch:
                self._ship(batch)
            with self._cond:
                self._sent_total += len(batch)
                self._cond.notify_all()
                if stopping and not self._queue:
                    return

    def _ready(self) -> bool:
        if self._stopping:
            return True
        if not self._queue:
            return False
        due = time.monotonic() - self._oldest >= self._ship_interval
        return due or self._flushers > 0 or len(self._queue) >= SHIP_BATCH

    def _ship(self, batch: list[bytes]) -> None:
        child = self._live_child()
        if child is not None:
            with self._cond:
                new = [(d, v) for d, v in self._vocabularies.items() if d not in child.vocabularies]
            for digest, vocabulary in new:
                if self._send(child, ("vocabulary", digest, vocabulary)):
                    child.vocabularies.add(digest)
        if child is None or not self._send(child, ("records", batch)):
            self._spool_blobs(batch)

    def _send(self, child: _Child, message: tuple[Any, ...]) -> bool:
        try:
            with self._send_lock:
                child.conn.send(message)
            return True
        except (OSError, ValueError, TypeError):  # a broken pipe, a closed end: the child is gone
            self._gone(child)
            return False

    # -- the child's life -----------------------------------------------------------------

    def _start_child(self) -> None:
        """Start ``python -m tierwise.ledger.writer_child`` on one end of a socket pair (a
        fresh interpreter: nothing of this process, its threads or its main module, is copied)."""
        old = self._child
        if old is not None:
            with suppress(OSError):
                old.conn.close()
        ours, theirs = socket.socketpair()
        config = {
            "url": self.store.location.url,
            "spool": str(self.spool.directory),
            "options": {"policy_fingerprint": self.policy_fingerprint, **self._writer_options},
        }
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])  # where ``tierwise`` is found
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE, str(theirs.fileno()), json.dumps(config)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        child = _Child(process, Connection(ours.detach()))
        self._child = child
        threading.Thread(
            target=self._listen, args=(child,), name="tierwise-writer-listener", daemon=True
        ).start()

    def _live_child(self) -> _Child | None:
        """The running child, or a new one when the last died and the back-off has passed."""
        child = self._child
        if child is not None and child.alive:
            return child
        if self._stopping or time.monotonic() < self._restart_at:
            return None
        code = child.process.poll() if child is not None else None
        _log.warning("the record writer process exited (code %s): starting another", code)
        self._restart_at = time.monotonic() + self._restart_delay
        self._restart_delay = min(self._restart_delay * 2, RESTART_MAX)
        self._start_child()
        return self._child

    def _listen(self, child: _Child) -> None:
        """Read what the child says until its end of the pipe closes."""
        while True:
            try:
                message = child.conn.recv()
            except (EOFError, OSError):
                break
            with self._cond:
                if message[0] == "stats":
                    child.stats = message[1]
                elif message[0] == "flushed":
                    child.flushed[message[1]] = message[2]
                    child.stats = message[3]
                elif message[0] == "closed":
                    child.final = message[1]
                self._cond.notify_all()
        self._gone(child)

    def _gone(self, child: _Child) -> None:
        with self._cond:
            if not child.alive:
                return
            child.alive = False
            last = child.final or child.stats
            self._earlier = _added(self._earlier, last)
            # its counts are in ``_earlier`` now; what it last said of the store stays
            child.final = replace(
                last, written=0, spooled=0, replayed=0, rejected=0, dropped=0, duplicates=0
            )
            self._cond.notify_all()

    # -- this process's own spool ---------------------------------------------------------

    def _spool_blobs(self, blobs: list[bytes]) -> None:
        records: list[DecisionRecord] = []
        for blob in blobs:
            with suppress(Exception):
                records.append(rebuild(blob, self._vocabularies))
        with self._cond:
            self._dropped += len(blobs) - len(records)
        self._spool_here(records, sync=True)

    def _spool_here(self, records: list[DecisionRecord], *, sync: bool) -> None:
        if not records:
            return
        try:
            self.spool.append(records, sync=sync)
        except Exception:
            _log.exception("%d record(s) lost: the writer and the spool both failed", len(records))
            with self._cond:
                self._dropped += len(records)
            return
        with self._cond:
            self._spooled += len(records)


def _added(base: RecorderStats, more: RecorderStats) -> RecorderStats:
    """``base`` with ``more``'s counters added."""
    return replace(base, **{n: getattr(base, n) + getattr(more, n) for n in _COUNTERS})


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)
