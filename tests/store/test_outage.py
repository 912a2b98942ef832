"""The database goes away mid-run; the recorder keeps receiving; every record arrives once.

Each test feeds the recorder from a thread at a steady pace the whole time, takes the
database away (SQLite: another connection holds the write lock, or the file is replaced by a
directory; PostgreSQL: the server is killed), waits until records are being spooled, brings
the database back, keeps feeding, closes the recorder, and then checks that every request id
is in the database exactly once, the spool is empty and nothing was dropped.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from tierwise.ledger.recorder import Recorder
from tierwise.ledger.store import Store
from tierwise.ledger.store.schema import decisions

from .conftest import RecordFactory
from .pgcluster import PgCluster, wait_until_accepting

FAST = {"batch_size": 25, "flush_interval": 0.02, "retry_initial": 0.05, "retry_max": 0.25}


class Feeder:
    """Records one record every ``interval`` seconds from a thread until stopped."""

    def __init__(self, recorder: Recorder, make: RecordFactory, interval: float = 0.001) -> None:
        self.recorder = recorder
        self.make = make
        self.interval = interval
        self.ids: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            record = self.make()
            self.recorder.record(record)
            self.ids.append(record.request_id)
            time.sleep(self.interval)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ids) < count:
            assert time.monotonic() < deadline, "the feeder is stuck: record() blocked?"
            time.sleep(0.005)

    @contextmanager
    def running(self) -> Iterator[Feeder]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def assert_all_arrived_once(store: Store, recorder: Recorder, ids: list[str]) -> None:
    assert len(set(ids)) == len(ids)
    with store.engine.connect() as conn:
        stored = [row for (row,) in conn.execute(select(decisions.c.request_id))]
        repeated = conn.execute(
            select(decisions.c.request_id).group_by(decisions.c.request_id).having(func.count() > 1)
        ).all()
    assert repeated == []
    assert sorted(stored) == sorted(ids)
    stats = recorder.stats()
    assert stats.recorded == len(ids)
    assert stats.dropped == 0
    assert stats.rejected == 0
    assert stats.spooled > 0  # the outage was real: records went to disk
    assert stats.written + stats.replayed >= len(ids)
    assert not recorder.spool.has_pending()


def test_sqlite_locked_by_another_connection(tmp_path: Path, make_record: RecordFactory) -> None:
    path = tmp_path / "tierwise.db"
    store = Store(str(path), busy_timeout=0.05)
    store.migrate()
    recorder = Recorder(store, **FAST)  # type: ignore[arg-type]
    with Feeder(recorder, make_record).running() as feeder:
        feeder.wait_for(100)
        wait_until(lambda: recorder.stats().written > 0)
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")  # a long write transaction elsewhere: writers get BUSY
        wait_until(lambda: recorder.stats().spooled >= 100)
        feeder.wait_for(len(feeder.ids) + 100)
        locker.execute("ROLLBACK")
        locker.close()
        wait_until(lambda: recorder.stats().replayed >= 100)
        feeder.wait_for(len(feeder.ids) + 100)
    recorder.close()
    assert_all_arrived_once(store, recorder, feeder.ids)


def test_sqlite_file_replaced_by_a_directory(tmp_path: Path, make_record: RecordFactory) -> None:
    """The store's folder is a symlink, swapped atomically (no moment without a folder, so the
    recorder's reconnects cannot create a new database meanwhile) to one where the database
    file is a directory, and back."""
    real, broken = tmp_path / "real", tmp_path / "broken"
    (broken / "tierwise.db").mkdir(parents=True)  # a directory where the file should be
    real.mkdir()
    folder = tmp_path / "data"
    folder.symlink_to(real)

    def point_to(target: Path) -> None:
        swap = tmp_path / "swap"
        swap.symlink_to(target)
        swap.replace(folder)  # rename(2) over the old link: atomic

    store = Store(str(folder / "tierwise.db"), busy_timeout=0.05)
    store.migrate()
    recorder = Recorder(store, **FAST)  # type: ignore[arg-type]
    with Feeder(recorder, make_record).running() as feeder:
        feeder.wait_for(100)
        wait_until(lambda: recorder.stats().written > 0)
        point_to(broken)
        wait_until(lambda: recorder.stats().spooled >= 100)
        feeder.wait_for(len(feeder.ids) + 100)
        point_to(real)
        wait_until(lambda: recorder.stats().replayed >= 100)
        feeder.wait_for(len(feeder.ids) + 100)
    recorder.close()
    assert_all_arrived_once(store, recorder, feeder.ids)
    assert list((broken / "tierwise.db").iterdir()) == []  # nothing was written there


def test_postgresql_server_killed_and_restarted(
    pg_cluster: PgCluster, pg_url: str, make_record: RecordFactory
) -> None:
    store = Store(pg_url, connect_timeout=1)
    store.migrate()
    recorder = Recorder(store, **FAST)  # type: ignore[arg-type]
    with Feeder(recorder, make_record).running() as feeder:
        feeder.wait_for(200)
        wait_until(lambda: recorder.stats().written > 0)
        pg_cluster.stop("immediate")  # a crash: no clean shutdown, recovery at the next start
        wait_until(lambda: recorder.stats().spooled >= 100)
        feeder.wait_for(len(feeder.ids) + 200)
        pg_cluster.start()
        wait_until_accepting(pg_cluster)
        wait_until(lambda: recorder.stats().replayed >= 100)
        feeder.wait_for(len(feeder.ids) + 200)
    recorder.close()
    assert_all_arrived_once(store, recorder, feeder.ids)
    store.close()


def test_postgresql_down_at_start_up_and_at_shutdown(
    pg_cluster: PgCluster, pg_url: str, make_record: RecordFactory
) -> None:
    """The proxy starts while the database is down and stops before it returns: the records
    wait in the spool, and the next recorder (the next proxy run) brings them in."""
    pg_cluster.stop("fast")
    store = Store(pg_url, connect_timeout=1)
    first = Recorder(store, **FAST)  # type: ignore[arg-type]
    ids = []
    for _ in range(120):
        record = make_record()
        first.record(record)
        ids.append(record.request_id)
    stats = first.close()
    assert stats.spooled == 120
    assert stats.written == 0
    assert first.spool.size().records == 120
    pg_cluster.start()
    second = Recorder(store, **FAST)  # type: ignore[arg-type]
    wait_until(lambda: not second.spool.has_pending())
    second.close()
    assert store.count() == 120
    assert sorted(r.request_id for r in store.records()) == sorted(ids)
    assert second.stats().replayed == 120
    store.close()
