"""Migrations from an empty database, on SQLite and PostgreSQL: the result is ``schema.py``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from tierwise.core.errors import StoreError
from tierwise.ledger.store import Store
from tierwise.ledger.store import migrations as m
from tierwise.ledger.store.schema import decisions, metadata, migrations

ALL = [migration.name for migration in m.MIGRATIONS]


def _compiled(type_: object, conn: Connection) -> str:
    return type_.compile(dialect=conn.dialect)  # type: ignore[attr-defined, no-any-return]


def test_migrating_an_empty_database_gives_exactly_the_schema(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.status().pending == tuple(ALL)
        assert store.migrate() == ALL
        with store.engine.connect() as conn:
            inspector = inspect(conn)
            reflected = {c["name"]: c for c in inspector.get_columns(decisions.name)}
            assert list(reflected) == [c.name for c in decisions.columns]
            for column in decisions.columns:
                found = reflected[column.name]
                assert _compiled(found["type"], conn) == _compiled(column.type, conn), column.name
                assert found["nullable"] == (column.nullable and not column.primary_key)
            assert inspector.get_pk_constraint(decisions.name)["constrained_columns"] == ["id"]
            unique: list[list[str | None]] = [
                list(u["column_names"]) for u in inspector.get_unique_constraints(decisions.name)
            ]
            indexes = inspector.get_indexes(decisions.name)
            unique += [list(i["column_names"]) for i in indexes if i["unique"]]
            assert ["request_id"] in unique
            named = {i["name"]: i["column_names"] for i in indexes}
            assert named["ix_tierwise_decisions_time"] == ["time"]
            assert sorted(inspector.get_table_names()) == sorted(metadata.tables)


def test_migrate_is_idempotent_and_records_what_ran(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.migrate() == ALL
        assert store.migrate() == []
        assert store.migrate() == []
        status = store.status()
        assert status.applied == tuple(ALL)
        assert status.pending == ()
        assert status.unknown == ()
        assert status.records == 0
        assert status.exists


def test_migrations_are_an_ordered_list_of_named_functions() -> None:
    names = [migration.name for migration in m.MIGRATIONS]
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for migration in m.MIGRATIONS:
        assert migration.apply.__name__ == migration.name
        assert migration.name[:1] == "m"
        assert migration.name[1:4].isdigit()


def test_concurrent_migrations_apply_once(store_url: str) -> None:
    stores = [Store(store_url, busy_timeout=10.0) for _ in range(4)]
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def run(store: Store) -> None:
        barrier.wait()
        try:
            results.append(store.migrate())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    if stores[0].path is not None:
        stores[0].path.parent.mkdir(parents=True)
    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert sorted(results) == [[], [], [], ALL]


def test_a_failing_migration_leaves_nothing_behind(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def m002_broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE tierwise_half_done (x INTEGER)"))
        raise RuntimeError("migration bug")

    monkeypatch.setattr(m, "MIGRATIONS", (*m.MIGRATIONS, m.Migration("m002_broken", m002_broken)))
    with Store(store_url) as store:
        with pytest.raises(RuntimeError, match="migration bug"):
            store.migrate()
        with store.engine.connect() as conn:
            assert inspect(conn).get_table_names() == []  # the whole transaction rolled back
        assert store.status().pending == (*ALL, "m002_broken")


def test_migrations_from_a_newer_tierwise_are_reported(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(migrations.insert().values(name="m999_future", applied_at=datetime.now(UTC)))
    assert store.status().unknown == ("m999_future",)


def test_status_of_a_database_not_created_yet_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "tierwise.db"
    with Store(str(path)) as store:
        status = store.status()
    assert not status.exists
    assert status.records is None
    assert status.pending == tuple(migration.name for migration in m.MIGRATIONS)
    assert not path.parent.exists()


def test_an_unusable_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with Store(str(blocker / "sub" / "tierwise.db")) as store, pytest.raises(StoreError):
        store.migrate()
