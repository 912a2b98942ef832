"""Writing and reading records on SQLite and PostgreSQL: idempotent, exact, in UTC."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tierwise.core.errors import StoreError
from tierwise.ledger.records import FIELD_NAMES, DecisionRecord
from tierwise.ledger.store import RecordRejectedError, Store
from tierwise.ledger.store.schema import RECORD_COLUMNS

from .conftest import T0, RecordFactory


def test_a_batch_written_twice_is_stored_once(store: Store, make_record: RecordFactory) -> None:
    batch = [make_record() for _ in range(50)]
    assert store.insert_many(batch) == 50
    assert store.insert_many(batch) == 0
    assert store.insert_many([*batch[:10], make_record()]) == 1
    assert store.count() == 51


def test_duplicates_inside_one_batch_are_stored_once(
    store: Store, make_record: RecordFactory
) -> None:
    record = make_record()
    assert store.insert_many([record, record, record]) == 1
    assert store.count() == 1
    assert store.insert_many([]) == 0


def test_a_record_comes_back_exactly_as_written(store: Store, make_record: RecordFactory) -> None:
    record = make_record(
        stream=True,
        conversation_key="conv-1",
        caller="team-a",
        user_id="user-42",
        task_type="format",
        domain="docs",
        user_tier="paid",
        hint_task_type="format",
        requested_model="auto",
        chosen_model="claude-haiku-5-5",
        chosen_tier="haiku",
        served_model="claude-haiku-5-5",
        routed=True,
        reason="task type format → haiku",
        trace=({"strategy": "task_type", "action": "decide", "tier": "haiku", "reason": "ü"},),
        score=0.25,
        policy_fingerprint="0123456789abcdef",
        context_tokens=1234,
        turns=3,
        input_tokens=7,
        cache_write_5m_tokens=11,
        cache_write_1h_tokens=13,
        cache_read_tokens=17,
        output_tokens=19,
        thinking_tokens=5,
        cost_usd=Decimal("0.0000123456789"),  # finer than a micro-dollar: kept exactly
        cost_micro_usd=12,
        baseline_model="claude-opus-5-5",
        baseline_cost_usd=Decimal("0.000987654321"),
        baseline_cost_micro_usd=988,
        savings_usd=Decimal("0.0009753086421"),
        savings_micro_usd=976,
        decision_latency=0.000042,
        upstream_latency=0.5,
        ttfb=0.51,
        total_latency=0.75,
        attempts=(
            {
                "model": "claude-haiku-5-5",
                "status": 200,
                "error_type": None,
                "latency": 0.5,
                "retries": 0,
            },
        ),
        validator_verdicts=(),
        quality_score=None,
        prompt="Reformat this JSON",
    )
    store.insert_many([record])
    (back,) = store.records()
    assert back == record
    assert store.get(record.request_id) == record
    assert store.get("req_unknown") is None


def test_times_are_stored_in_utc_and_filtered(store: Store, make_record: RecordFactory) -> None:
    paris = timezone(timedelta(hours=1))
    records = [make_record(time=T0 + timedelta(hours=h)) for h in range(5)]
    records.append(make_record(time=(T0 + timedelta(hours=5)).astimezone(paris)))
    store.insert_many(records)
    since = store.records(since=T0 + timedelta(hours=2))
    assert [r.request_id for r in since] == [r.request_id for r in records[2:]]
    assert all(r.time.tzinfo == UTC for r in since)
    assert since[-1].time == T0 + timedelta(hours=5)
    window = store.records(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert [r.request_id for r in window] == [r.request_id for r in records[1:3]]
    newest = store.records(limit=2, newest_first=True)
    assert [r.request_id for r in newest] == [records[5].request_id, records[4].request_id]


def test_a_naive_time_is_refused(store: Store, make_record: RecordFactory) -> None:
    with pytest.raises(RecordRejectedError, match="naive datetime"):
        store.insert_many([make_record(time=datetime(2026, 1, 1))])


def test_amounts_are_exact_decimals(store: Store, make_record: RecordFactory) -> None:
    amounts = [Decimal("0.000000001"), Decimal("123456.123456789012"), Decimal("-0.5"), Decimal(0)]
    records = [make_record(cost_usd=a, savings_usd=-a) for a in amounts]
    store.insert_many(records)
    back = store.records()
    assert [r.cost_usd for r in back] == amounts
    assert [r.savings_usd for r in back] == [-a for a in amounts]
    assert sum((r.cost_usd or Decimal(0) for r in back), Decimal(0)) == sum(amounts)


def test_nul_characters_are_stored_as_replacement_characters(
    store: Store, make_record: RecordFactory
) -> None:
    record = make_record(prompt="a\x00b", reason="r\x00", trace=({"reason": "x\x00"},))
    store.insert_many([record])
    (back,) = store.records()
    assert back.prompt == "a\ufffdb"
    assert back.reason == "r\ufffd"
    assert back.trace == ({"reason": "x\ufffd"},)


def test_a_record_the_database_refuses_is_a_rejection_not_an_outage(
    store: Store, make_record: RecordFactory
) -> None:
    bad = make_record(endpoint=None)  # NOT NULL
    with pytest.raises(RecordRejectedError):
        store.insert_many([make_record(), bad])
    assert store.count() == 0  # one transaction per batch


def test_quality_scores_are_filled_in_later(store: Store, make_record: RecordFactory) -> None:
    record = make_record()
    store.insert_many([record])
    assert store.set_quality_score(record.request_id, 0.875)
    assert not store.set_quality_score("req_unknown", 0.5)
    back = store.get(record.request_id)
    assert back is not None
    assert back.quality_score == 0.875


def test_sqlite_runs_in_wal_mode_with_normal_sync(sqlite_url: str) -> None:
    with Store(sqlite_url, busy_timeout=2.5) as store:
        store.migrate()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
    assert store.path is not None
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_unmigrated_database_is_a_store_error(
    store_url: str, make_record: RecordFactory
) -> None:
    with Store(store_url) as store:
        if store.path is not None:
            store.path.parent.mkdir(parents=True)
        with pytest.raises(StoreError) as caught:
            store.insert_many([make_record()])
        assert not isinstance(caught.value, RecordRejectedError)


def test_an_unreachable_postgresql_is_a_store_error_without_the_password(
    make_record: RecordFactory,
) -> None:
    from .pgcluster import _free_port

    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{_free_port()}/nothing"
    with Store(url, connect_timeout=1) as store:
        with pytest.raises(StoreError) as caught:
            store.insert_many([make_record()])
        assert "s3cret-pw" not in str(caught.value)
        assert "***" in store.display
        assert "s3cret-pw" not in store.display


def test_the_in_memory_database_works_for_quick_experiments(make_record: RecordFactory) -> None:
    with Store("sqlite://") as store:
        store.migrate()
        store.insert_many([make_record()])
        assert store.count() == 1
        assert store.path is None
        assert store.display == "sqlite://"


def test_the_record_fields_are_the_table_columns() -> None:
    assert FIELD_NAMES == RECORD_COLUMNS


def test_records_round_trip_through_json(make_record: RecordFactory) -> None:
    record = make_record(cost_usd=Decimal("0.0000056"), attempts=({"model": "m"},), routed=True)
    assert DecisionRecord.from_json(record.to_json()) == record
    for line in ("[1, 2]", '{"request_id": "r"}', '{"request_id": "r", "time": 5}'):
        with pytest.raises(ValueError, match="not a decision record"):
            DecisionRecord.from_json(line)
    broken = record.to_json().replace('"cost_usd":"0.0000056"', '"cost_usd":"abc"')
    with pytest.raises(ValueError, match="not a decision record"):
        DecisionRecord.from_json(broken)


def test_a_deleted_sqlite_file_is_noticed_not_written_through_a_stale_connection(
    sqlite_url: str, make_record: RecordFactory
) -> None:
    """Connections are pooled; one whose file was deleted must not swallow the next batch."""
    with Store(sqlite_url) as store:
        store.migrate()
        assert store.insert_many([make_record()]) == 1
        assert store.path is not None
        for leftover in store.path.parent.iterdir():
            leftover.unlink()  # the database, its WAL and shared-memory files
        with pytest.raises(StoreError):
            store.insert_many([make_record()])  # a new empty file has no table yet
        store.migrate()
        assert store.insert_many([make_record()]) == 1
        assert store.count() == 1
        with sqlite3.connect(store.path) as raw:
            assert raw.execute("SELECT count(*) FROM tierwise_decisions").fetchone() == (1,)


def test_the_fast_insert_stores_what_a_plain_sqlalchemy_insert_stores(
    store: Store, make_record: RecordFactory
) -> None:
    """The compiled insert with the schema's bind processors gives rows identical to the ones
    SQLAlchemy's own insert writes, on both backends."""
    from sqlalchemy import insert, select

    from tierwise.ledger.store.schema import decisions

    fast = make_record(request_id="fast", time=T0, stream=True, caller="team-a")
    plain = make_record(request_id="plain", time=T0, stream=True, caller="team-a")
    store.insert_many([fast])
    with store.engine.begin() as conn:
        conn.execute(insert(decisions), [plain.as_row()])
        rows = {
            row.request_id: row._asdict()
            for row in conn.execute(select(decisions).order_by(decisions.c.id))
        }
    assert set(rows) == {"fast", "plain"}
    for row in rows.values():
        row.pop("id")
        row.pop("request_id")
    assert rows["fast"] == rows["plain"]
    if store.path is not None:  # SQLite: the very values on disk, not only as read back
        with sqlite3.connect(store.path) as raw:
            fast_raw, plain_raw = raw.execute(
                "SELECT * FROM tierwise_decisions ORDER BY request_id"
            ).fetchall()
        assert fast_raw[2:] == plain_raw[2:]  # after the id and the request id
