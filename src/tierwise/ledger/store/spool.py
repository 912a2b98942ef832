"""The spool: records waiting on disk while the store is unavailable.

One directory per database (``<data dir>/spool/<database key>/``) holds JSON-lines files of
``DecisionRecord`` s. Each recorder appends to a file of its own, one write and one ``fsync`` per
batch, and holds an exclusive ``flock`` on it while it is open, so several processes can share
the directory.

Replaying is write-ahead: a file is read in batches and each batch written to the store; only
when every record of the file is committed is the file deleted. A process that dies mid-replay
leaves the file in place and the next replay writes it again; that is safe because the store
ignores request ids it already has. Files another live process holds are skipped; a dead
process's lock is released by the kernel, so its file is picked up.

A torn last line (the process died mid-write) or a line that is not a record is never thrown
away: it is moved to ``rejected/`` beside the spool, with records the store refused to accept.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tierwise.ledger.records import DecisionRecord

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per spool directory
    fcntl = None  # type: ignore[assignment]

_log = logging.getLogger("tierwise.spool")
SUFFIX = ".jsonl"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class SpoolSize:
    """What is waiting: files, bytes and (complete) lines."""

    files: int
    bytes: int
    records: int


@dataclass(frozen=True, slots=True)
class Replayed:
    """What one replay wrote to the store, and what it had to set aside."""

    records: int = 0
    files: int = 0
    set_aside: int = 0  # torn or unreadable lines moved to rejected/


class Spool:
    """JSON-lines files of records for one database. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None

    # -- writing ------------------------------------------------------------------------

    def append(self, records: Sequence[DecisionRecord], *, sync: bool = True) -> None:
        """Append ``records`` to this process's file: one write, then ``fsync`` (unless
        ``sync=False``). ``OSError`` if the disk refuses."""
        if not records:
            return
        data = "".join(record.to_json() + "\n" for record in records).encode("utf-8")
        with self._lock:
            fd = self._open()
            _write_all(fd, data)
            if sync:
                os.fsync(fd)

    def reject(self, lines: Sequence[str]) -> None:
        """Keep lines the store refused (or that are not records) in ``rejected/``."""
        if not lines:
            return
        folder = self.directory / REJECTED
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = "".join(line.rstrip("\n") + "\n" for line in lines).encode("utf-8")
        with self._lock:
            fd = os.open(folder / f"rejected-{os.getpid()}{SUFFIX}", _APPEND, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def sync(self) -> None:
        """``fsync`` this process's file (after unsynced appends)."""
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def close(self) -> None:
        """Sync and close this process's file (it stays on disk until replayed)."""
        with self._lock:
            self._close()

    # -- reading ------------------------------------------------------------------------

    def has_pending(self) -> bool:
        """Whether any spool file exists for this database (this process's or another's)."""
        return any(self._files())

    def size(self) -> SpoolSize:
        """Files, bytes and complete lines waiting (reads the files to count lines)."""
        files = byte_count = lines = 0
        for path in self._files():
            try:
                with path.open("rb") as stream:
                    for chunk in iter(lambda: stream.read(1 << 20), b""):
                        byte_count += len(chunk)
                        lines += chunk.count(b"\n")
            except OSError:
                continue
            files += 1
        return SpoolSize(files, byte_count, lines)

    def replay(
        self, write: Callable[[list[DecisionRecord]], object], *, batch_size: int = 500
    ) -> Replayed:
        """Write every spooled record with ``write`` (a batch at a time), deleting each file once
        all of its records are written. An exception from ``write`` stops the replay and
        propagates; the file it was writing stays for the next replay."""
        with self._lock:
            self._close()  # this process's file is replayed like any other
        total = Replayed()
        for path in self._files():
            done = self._replay_file(path, write, batch_size)
            if done is not None:
                total = Replayed(
                    total.records + done.records,
                    total.files + done.files,
                    total.set_aside + done.set_aside,
                )
        return total

    # -- internals ----------------------------------------------------------------------

    def _files(self) -> Iterator[Path]:
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return
        for name in names:
            if name.endswith(SUFFIX):
                yield self.directory / name

    def _replay_file(
        self, path: Path, write: Callable[[list[DecisionRecord]], object], batch_size: int
    ) -> Replayed | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None  # replayed and removed by another process meanwhile
        try:
            if not _try_lock(fd) or not _same_file(fd, path):
                return None  # a live process is writing or replaying it
            records = 0
            bad: list[str] = []
            batch: list[DecisionRecord] = []
            with os.fdopen(os.dup(fd), "rb") as stream:
                for raw in stream:
                    if not raw.endswith(b"\n"):
                        bad.append(raw.decode("utf-8", "replace"))  # torn by a crash mid-write
                        continue
                    try:
                        batch.append(DecisionRecord.from_json(raw))
                    except ValueError:
                        bad.append(raw.decode("utf-8", "replace"))
                        continue
                    if len(batch) >= batch_size:
                        write(batch)
                        records += len(batch)
                        batch = []
            if batch:
                write(batch)
                records += len(batch)
            if bad:
                _log.warning("%s: %d unreadable spool line(s) moved to rejected/", path, len(bad))
                self.reject(bad)
            path.unlink()
            return Replayed(records, 1, len(bad))
        finally:
            os.close(fd)  # releases the lock

    def _open(self) -> int:
        if self._fd is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
            path = self.directory / name
            fd = os.open(path, _APPEND, 0o600)
            _try_lock(fd)
            _sync_dir(self.directory)
            self._fd, self._path = fd, path
        return self._fd

    def _close(self) -> None:
        fd, self._fd, self._path = self._fd, None, None
        if fd is not None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _try_lock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
