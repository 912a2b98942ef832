"""The spool: appended and fsynced per batch, replayed write-ahead, shared between processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Spool

from .conftest import RecordFactory


class Sink:
    """A stand-in for the store: keeps what it is given, or fails after ``fail_after`` batches."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.batches: list[list[DecisionRecord]] = []
        self.fail_after = fail_after

    def __call__(self, batch: list[DecisionRecord]) -> None:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise ConnectionError("store down")
        self.batches.append(list(batch))

    @property
    def ids(self) -> list[str]:
        return [r.request_id for batch in self.batches for r in batch]


def test_appended_batches_replay_in_order_and_the_files_go(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    spool = Spool(tmp_path / "spool")
    records = [make_record() for _ in range(7)]
    spool.append(records[:3])
    spool.append(records[3:])
    assert spool.has_pending()
    assert spool.size().records == 7
    assert spool.size().files == 1
    sink = Sink()
    done = spool.replay(sink, batch_size=2)
    assert sink.ids == [r.request_id for r in records]
    assert [len(b) for b in sink.batches] == [2, 2, 2, 1]
    assert (done.records, done.files, done.set_aside) == (7, 1, 0)
    assert not spool.has_pending()
    assert list((tmp_path / "spool").iterdir()) == []
    spool.append([make_record()])  # a new file after a replay
    assert spool.size().files == 1


def test_a_replay_that_fails_keeps_the_file_for_the_next_one(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    spool = Spool(tmp_path)
    records = [make_record() for _ in range(5)]
    spool.append(records)
    with pytest.raises(ConnectionError):
        spool.replay(Sink(fail_after=1), batch_size=2)
    assert spool.size().records == 5  # write-ahead: nothing removed before all was written
    sink = Sink()
    spool.replay(sink, batch_size=2)
    assert sink.ids == [r.request_id for r in records]
    assert not spool.has_pending()


def test_a_torn_last_line_and_garbage_are_set_aside_not_lost(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    good = make_record()
    (tmp_path / "00000000000000000001-1-dead.jsonl").write_text(
        good.to_json() + "\n" + "not json\n" + '{"request_id": "req_torn", "ti'
    )
    spool = Spool(tmp_path)
    sink = Sink()
    done = spool.replay(sink)
    assert sink.ids == [good.request_id]
    assert done.set_aside == 2
    rejected = (tmp_path / "rejected").glob("*.jsonl")
    kept = "".join(path.read_text() for path in rejected)
    assert "not json" in kept
    assert "req_torn" in kept
    assert not spool.has_pending()


def test_files_held_by_another_process_are_skipped(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    writer = Spool(tmp_path)  # another recorder (flock conflicts between open files, as between
    writer.append([make_record()])  # processes)
    reader = Spool(tmp_path)
    sink = Sink()
    assert reader.replay(sink).files == 0
    assert sink.ids == []
    writer.close()  # released (also what the kernel does when a process dies)
    assert reader.replay(sink).records == 1


def test_left_over_files_from_a_dead_process_are_replayed(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    record = make_record()
    left = tmp_path / f"00000000000000000042-{os.getpid() + 1}-beef.jsonl"
    left.write_text(record.to_json() + "\n")
    sink = Sink()
    Spool(tmp_path).replay(sink)
    assert sink.ids == [record.request_id]
    assert not left.exists()


def test_a_spool_that_cannot_be_written_raises_os_error(
    tmp_path: Path, make_record: RecordFactory
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError):
        Spool(blocker / "spool").append([make_record()])
    assert Spool(blocker / "spool").size().files == 0
