"""The recorder: decision records leave the request path through a queue and reach the store.

``Recorder.record(outcome)`` is the proxy's ``on_outcome`` hook. It runs on the event loop, so
it only appends to a bounded in-memory queue and returns (about a microsecond); it never
raises. A background thread takes the queue in batches (up to ``batch_size`` records, or
whatever arrived within ``flush_interval`` of the oldest), turns outcomes into
``DecisionRecord`` s and writes each batch in one transaction.

When the store is unavailable (connection refused, database locked, disk error), the batch is
appended to the spool on disk instead (one ``fsync`` per batch) and the store is retried with
exponential backoff, starting again with ``migrate()`` (so a database that was recreated gets
its schema back). When it answers, the spool is replayed first, write-ahead (see
``store.spool``), then new batches go to the store again. Inserts are idempotent on the request
id, so a batch written twice is stored once.

Memory stays bounded: when the queue is full, ``record`` appends the record to the spool
itself (a write to the OS, no ``fsync``: a rare, degraded path) rather than wait or grow.
``close()`` writes out everything still queued (to the store, else to the spool) and stops the
thread; records handed to ``record`` after ``close`` go to the spool directly.

Nothing is dropped unless both the store and the local disk fail; ``stats().dropped`` counts
that, and records that could not even be converted (a bug), and should stay at 0.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from tierwise.core.errors import StoreError
from tierwise.ledger.records import DEFAULT_PROMPT_CAP, DecisionRecord

if TYPE_CHECKING:
    from tierwise.ledger.outcome import Outcome
    from tierwise.ledger.store import Spool, Store

_log = logging.getLogger("tierwise.ledger.recorder")

DEFAULT_BATCH_SIZE = 500
DEFAULT_FLUSH_INTERVAL = 0.2  # seconds the oldest queued record may wait for its batch
DEFAULT_MAX_QUEUE = 10_000
DEFAULT_RETRY_INITIAL = 0.5  # seconds before the first retry of an unavailable store
DEFAULT_RETRY_MAX = 30.0
YIELD_EVERY = 32  # records converted between two releases of the GIL (about 0.5 ms)

_Item = tuple["Outcome | DecisionRecord", float, float]  # what, wall-clock time, monotonic time


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """Counters since the recorder started (for metrics and tests).

    ``recorded`` = handed to ``record``; ``written`` = stored from the queue; ``spooled`` =
    put on disk while the store was unavailable (or the queue full); ``replayed`` = stored from
    the spool (including files left by earlier runs); ``rejected`` = refused by the database
    for their content and kept in the spool's ``rejected/`` folder; ``dropped`` = lost (both the
    store and the disk failed, or the record could not be built): should be 0.
    """

    recorded: int
    written: int
    spooled: int
    replayed: int
    rejected: int
    dropped: int
    duplicates: int  # records the store already had (a replay after a partial write)
    queued: int
    store_available: bool
    last_error: str | None


class Recorder:
    """Records outcomes into ``store`` without ever blocking or failing the caller.

    Thread-safe. The writer thread starts at once and migrates the store (also replaying any
    spool a previous run left behind). Use as a context manager or call ``close()``.
    """

    def __init__(
        self,
        store: Store,
        *,
        spool: Spool | None = None,
        policy_fingerprint: str | None = None,
        store_prompts: bool = False,
        prompt_cap: int = DEFAULT_PROMPT_CAP,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        max_queue: int = DEFAULT_MAX_QUEUE,
        retry_initial: float = DEFAULT_RETRY_INITIAL,
        retry_max: float = DEFAULT_RETRY_MAX,
    ) -> None:
        if batch_size < 1 or max_queue < 1:
            raise ValueError("batch_size and max_queue must be at least 1")
        self.store = store
        self.spool = spool if spool is not None else store.spool()
        self.policy_fingerprint = policy_fingerprint
        self.store_prompts = store_prompts
        self.prompt_cap = prompt_cap
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._retry_initial = retry_initial
        self._retry_max = retry_max

        self._cond = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._stopping = False
        self._closed = False
        self._flushers = 0
        self._queued_total = 0  # items ever queued
        self._done_total = 0  # items the writer has finished with (stored, spooled or lost)
        self._inflight: list[_Item] = []  # what the writer took from the queue and holds
        # the writer thread's view of the store (only the writer changes these)
        self._available = False
        self._retry_at = 0.0
        self._backoff = retry_initial
        self._spool_dirty = True  # a previous run may have left a spool: look at start-up
        self._last_error: str | None = None
        # counters (under self._cond)
        self._recorded = self._written = self._spooled = self._replayed = 0
        self._rejected = self._dropped = self._duplicates = 0

        self._thread = threading.Thread(target=self._run, name="tierwise-recorder", daemon=True)
        self._thread.start()
        self._at_exit = _close_at_exit(self)
        atexit.register(self._at_exit)

    # -- the request path -----------------------------------------------------------------

    def record(self, outcome: Outcome | DecisionRecord) -> None:
        """Queue one finished request for the store. Never blocks on the database, never
        raises. Usable directly as the proxy's ``on_outcome`` hook."""
        try:
            wall, mono = time.time(), time.monotonic()
            with self._cond:
                self._recorded += 1
                queued = len(self._queue)
                if queued < self._max_queue and not self._closed:
                    self._queue.append((outcome, wall, mono))
                    self._queued_total += 1
                    if queued == 0 or queued + 1 == self._batch_size:
                        self._cond.notify()
                    return
            self._overflow(outcome, wall)
        except Exception:  # never let recording break a request
            _log.exception("could not record a request")
            with self._cond:
                self._dropped += 1

    __call__ = record

    def _overflow(self, outcome: Outcome | DecisionRecord, wall: float) -> None:
        """The queue is full (or the recorder closed): put the record on disk right here."""
        record = self._convert(outcome, wall)
        if self._closed:  # nobody will sync or release the file later: do it now
            self.spool.append([record])
            self.spool.close()
        else:  # the writer fsyncs the file with its next batch or at close
            self.spool.append([record], sync=False)
        with self._cond:
            self._spooled += 1
            self._spool_dirty = True

    # -- control ----------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded so far is in the store or the spool. ``False`` if
        ``timeout`` seconds passed first."""
        with self._cond:
            target = self._queued_total
            self._flushers += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._done_total >= target, timeout)
            finally:
                self._flushers -= 1

    def close(self, timeout: float = 30.0) -> RecorderStats:
        """Write out the queue (to the store, else the spool) and stop the writer thread.

        If the writer is stuck longer than ``timeout`` (a database that hangs), what it holds
        and what is still queued are written to the spool from here (a record may then be
        stored twice later, which the store ignores). Idempotent.
        """
        atexit.unregister(self._at_exit)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            with self._cond:
                self._closed = True
                leftovers = list(self._queue)
                self._queue.clear()
                held = list(self._inflight)
            records = [r for r in map(self._safe_convert, held + leftovers) if r is not None]
            _log.warning(
                "the recorder's writer is stuck; %d record(s) written to the spool instead",
                len(records),
            )
            self._to_spool(records)
            with self._cond:
                self._done_total += len(leftovers)
                self._cond.notify_all()
        try:
            self.spool.close()
        except OSError:
            _log.exception("could not close the spool file")
        return self.stats()

    def stats(self) -> RecorderStats:
        """A snapshot of the counters."""
        with self._cond:
            return RecorderStats(
                recorded=self._recorded,
                written=self._written,
                spooled=self._spooled,
                replayed=self._replayed,
                rejected=self._rejected,
                dropped=self._dropped,
                duplicates=self._duplicates,
                queued=len(self._queue),
                store_available=self._available,
                last_error=self._last_error,
            )

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._reconnect()
            while True:
                items, stopping = self._next_batch()
                if items:
                    self._handle(items)
                elif not self._available and time.monotonic() >= self._retry_at:
                    self._reconnect()  # idle: bring the spool back as soon as possible
                if stopping:
                    with self._cond:
                        if self._queue:
                            continue
                        self._closed = True
                    self._finish()
                    return
        except BaseException:  # pragma: no cover - a bug: keep what is queued on disk
            _log.exception("the recorder's writer thread failed")
            with self._cond:
                self._closed = True
                leftovers = list(self._queue)
                self._queue.clear()
            self._to_spool([r for r in map(self._safe_convert, leftovers) if r is not None])
            with self._cond:
                self._done_total += len(leftovers)
                self._cond.notify_all()

    def _next_batch(self) -> tuple[list[_Item], bool]:
        """Wait for a full batch, the oldest record's deadline, a flush, a retry or the stop."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self._stopping or (self._queue and self._flushers):
                    break
                if len(self._queue) >= self._batch_size:
                    break
                timeout: float | None = None
                if self._queue:
                    timeout = self._queue[0][2] + self._flush_interval - now
                    if timeout <= 0:
                        break
                if not self._available:
                    retry = self._retry_at - now
                    if retry <= 0:
                        break
                    timeout = retry if timeout is None else min(timeout, retry)
                self._cond.wait(timeout)
            count = min(len(self._queue), self._batch_size)
            items = [self._queue.popleft() for _ in range(count)]
            return items, self._stopping

    def _handle(self, items: list[_Item]) -> None:
        self._inflight = items
        try:
            self._deliver(self._convert_batch(items))
        finally:
            self._inflight = []
            with self._cond:
                self._done_total += len(items)
                self._cond.notify_all()

    def _deliver(self, records: list[DecisionRecord]) -> None:
        if not records:
            return
        if not self._available and time.monotonic() >= self._retry_at:
            self._reconnect()
        if self._available and self._spool_dirty:
            self._replay()
        if self._available:
            try:
                self._store(records, replay=False)
                return
            except Exception as exc:
                self._down(exc)
        self._to_spool(records)

    def _finish(self) -> None:
        """At close: one last try to bring the spool into the store, then release the store."""
        if not self._available:
            self._reconnect()
        elif self._spool_dirty:
            self._replay()
        self.store.close()

    def _reconnect(self) -> None:
        try:
            self.store.migrate()
        except Exception as exc:
            self._down(exc)
            return
        was_down = self._last_error is not None
        self._available, self._backoff = True, self._retry_initial
        self._replay()
        if self._available and was_down:
            _log.warning("the decision store is available again: %s", self.store.display)
            self._last_error = None

    def _replay(self) -> None:
        with self._cond:
            self._spool_dirty = False  # before listing the files: a later append sets it again
        try:
            done = self.spool.replay(
                lambda batch: self._store(batch, replay=True), batch_size=self._batch_size
            )
        except Exception as exc:
            with self._cond:
                self._spool_dirty = True
            self._down(exc)
            return
        if done.files:
            _log.info("replayed %d spooled record(s) from %d file(s)", done.records, done.files)

    def _store(self, records: list[DecisionRecord], *, replay: bool) -> None:
        """Insert a batch; rows the database refuses for their content are set aside one by
        one so that they cannot block the rest. Unavailability propagates."""
        from tierwise.ledger.store import RecordRejectedError

        rejected: list[DecisionRecord] = []
        try:
            new = self.store.insert_many(records)
        except RecordRejectedError:
            new = 0
            for record in records:
                try:
                    new += self.store.insert_many([record])
                except RecordRejectedError as exc:
                    _log.error("request %s: record refused: %s", record.request_id, exc)
                    rejected.append(record)
        lost = 0
        if rejected:
            try:
                self.spool.reject([r.to_json() for r in rejected])
            except OSError:
                _log.exception("%d refused record(s) lost: cannot keep them", len(rejected))
                lost = len(rejected)
        stored = len(records) - len(rejected)
        with self._cond:
            self._dropped += lost
            if replay:
                self._replayed += stored
            else:
                self._written += stored
            self._rejected += len(rejected) - lost
            self._duplicates += max(stored - new, 0)

    def _to_spool(self, records: Sequence[DecisionRecord]) -> None:
        if not records:
            return
        try:
            self.spool.append(records)
        except Exception:
            _log.exception("%d record(s) lost: the store and the spool both failed", len(records))
            with self._cond:
                self._dropped += len(records)
            return
        with self._cond:
            self._spooled += len(records)
            self._spool_dirty = True

    def _down(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
        if self._available or self._last_error is None:
            _log.warning(
                "the decision store is unavailable (records go to the spool at %s): %s",
                self.spool.directory,
                message,
            )
        self._available = False
        self._last_error = message
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self._retry_max)
        if not isinstance(exc, StoreError):
            _log.debug("unexpected error from the store", exc_info=exc)

    # -- conversion ---------------------------------------------------------------------

    def _convert_batch(self, items: list[_Item]) -> list[DecisionRecord]:
        """Records for a batch, letting the event loop's thread run every few records: the
        conversion is pure Python, and a thread that holds the GIL for a whole batch makes
        every request waiting on I/O wait up to the interpreter's switch interval (5 ms)."""
        records: list[DecisionRecord] = []
        for index, item in enumerate(items, 1):
            record = self._safe_convert(item)
            if record is not None:
                records.append(record)
            if index % YIELD_EVERY == 0:
                time.sleep(0)  # releases the GIL to a waiting thread
        return records

    def _convert(self, what: Outcome | DecisionRecord, wall: float) -> DecisionRecord:
        if isinstance(what, DecisionRecord):
            return what
        return DecisionRecord.from_outcome(
            what,
            finished_at=datetime.fromtimestamp(wall, UTC),
            policy_fingerprint=self.policy_fingerprint,
            store_prompt=self.store_prompts,
            prompt_cap=self.prompt_cap,
        )

    def _safe_convert(self, item: _Item) -> DecisionRecord | None:
        try:
            return self._convert(item[0], item[1])
        except Exception:
            _log.exception("could not build the record of a request")
            with self._cond:
                self._dropped += 1
            return None


def _close_at_exit(recorder: Recorder) -> Callable[[], None]:
    """An exit hook that closes ``recorder`` if the program forgot to (without keeping the
    recorder alive: a recorder that was garbage-collected needs nothing)."""
    ref = weakref.ref(recorder)

    def close() -> None:
        alive = ref()
        if alive is not None:
            alive.close(timeout=10.0)

    return close
