"""The decision store: SQLite by default, PostgreSQL when given a ``postgresql://`` URL.

``Store`` opens the database lazily (nothing touches the disk or the network until a method
needs it), migrates it on request, inserts records in one transaction per batch, idempotently
on the request id (``INSERT ... ON CONFLICT (request_id) DO NOTHING`` on both backends), and
answers the few queries tests and reports need.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout. Its connections are
pooled (opening one and the WAL checkpoint at its close cost milliseconds per batch), and each
checkout compares the file's identity (device and inode) with the one the connection opened, so
a database file that is moved, deleted or replaced is noticed at once rather than written to
through a stale handle. PostgreSQL uses psycopg 3 with a small pool, pre-ping and a connect
timeout.

Batches are inserted with the driver's ``executemany`` on a statement compiled once, the values
converted by the schema's own bind processors: the same bytes in the database as a plain
SQLAlchemy insert, about three times faster (``benchmarks/bench_recorder.py``).

Every database error leaves as a ``StoreError``; ``RecordRejectedError`` (a subclass) means the
data itself was refused (a constraint or a value the column cannot hold), not that the database
was unavailable, so a retry would fail the same way.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import QueuePool, StaticPool

import tierwise.ledger.store.migrations as schema_migrations
from tierwise.core.errors import StoreError
from tierwise.ledger.records import TEXT_FIELDS, DecisionRecord, dumps_json
from tierwise.ledger.store.paths import StoreLocation, data_dir, resolve
from tierwise.ledger.store.schema import RECORD_COLUMNS, decisions
from tierwise.ledger.store.spool import Spool

# Rows per SQLite INSERT statement. One multi-row statement instead of ``executemany`` matters
# in the proxy: sqlite3 releases the GIL around every row's step, and each time the writer
# thread takes it back the event loop is made to hand it over, which cost the proxy about a
# sixth of its CPU per request (benchmarks/bench_recording.py). At most 64 statements of up to
# 64 rows each stay in sqlite3's statement cache (128), so none is parsed twice.
SQLITE_ROWS_PER_STATEMENT = 64
DEFAULT_BUSY_TIMEOUT = 5.0  # seconds SQLite waits for a lock before "database is locked"
DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds PostgreSQL may take to accept a connection


class RecordRejectedError(StoreError):
    """The database refused the records themselves (retrying the same rows would fail again)."""


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """What ``tierwise db status`` shows."""

    backend: str
    location: str  # the SQLite path or the redacted URL
    exists: bool  # False: the SQLite file has not been created yet
    applied: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]  # applied by a newer tierwise
    records: int | None  # None until migrated


class Store:
    """Decision records in SQLite or PostgreSQL. Thread-safe; ``close()`` releases the pool.

    ``url`` is a SQLAlchemy or libpq-style URL or a SQLite path; ``None`` means
    ``TIERWISE_DATABASE_URL``, else ``tierwise.db`` in the data directory.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.location: StoreLocation = resolve(url, environ)
        self._data_dir = data_dir(environ)
        self._busy_timeout = busy_timeout
        self._connect_timeout = connect_timeout
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._insert: _CompiledInsert | None = None

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.location.backend

    @property
    def display(self) -> str:
        """The SQLite path, or the URL with its password hidden."""
        return self.location.display

    @property
    def path(self) -> Path | None:
        """The SQLite file (``None`` for PostgreSQL)."""
        return self.location.path

    def spool(self) -> Spool:
        """The spool directory of this database's records (``<data dir>/spool/<key>``)."""
        return Spool(self._data_dir / "spool" / self.location.key)

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Create or upgrade the schema; the migrations applied now (``[]``: up to date)."""
        if self.location.path is not None:
            try:
                self.location.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {self.location.path.parent}: {exc}") from exc
        with self._errors("migrate"), self._connect(immediate=True) as conn:
            return schema_migrations.migrate(conn)

    def status(self) -> StoreStatus:
        """Backend, location, migrations applied and pending, and the record count."""
        path = self.location.path
        if path is not None and not path.exists():
            names = tuple(m.name for m in schema_migrations.MIGRATIONS)
            return StoreStatus(self.backend, self.display, False, (), names, (), None)
        with self._errors("read the status of"), self._connect() as conn, conn.begin():
            applied = schema_migrations.applied(conn)
            pending = schema_migrations.pending(conn)
            unknown = schema_migrations.unknown(conn)
            count = None
            if inspect(conn).has_table(decisions.name):
                count = conn.execute(select(func.count()).select_from(decisions)).scalar_one()
        return StoreStatus(
            self.backend, self.display, True, tuple(applied), tuple(pending), tuple(unknown), count
        )

    # -- writing --------------------------------------------------------------------------

    def insert_many(self, records: Sequence[DecisionRecord]) -> int:
        """Insert ``records`` in one transaction, skipping request ids already stored (also
        duplicates within the batch). Returns how many rows were new."""
        if not records:
            return 0
        unique = _unique(records)
        insert = self._compiled_insert()
        try:
            params = insert.parameters(unique)
        except (ValueError, TypeError) as exc:  # what SQLAlchemy reports as a StatementError
            raise RecordRejectedError(f"a record cannot be stored: {exc}") from exc
        with self._errors("write to"), self._connect() as conn, conn.begin():
            if self.backend == "sqlite":
                inserted = 0
                for start in range(0, len(params), SQLITE_ROWS_PER_STATEMENT):
                    chunk = params[start : start + SQLITE_ROWS_PER_STATEMENT]
                    values = tuple(value for row in chunk for value in row)
                    result = conn.exec_driver_sql(insert.multi_row_sql(len(chunk)), values)
                    inserted += max(result.rowcount, 0)
                return inserted
            # psycopg runs an executemany as one pipeline (fast), but reports no row count
            # (and INSERT ... RETURNING is several times slower): count what is there first
            ids = bindparam("ids", [record.request_id for record in unique], ARRAY(String()))
            there = select(func.count()).where(decisions.c.request_id == any_(ids))
            existing = conn.execute(there).scalar_one()
            conn.exec_driver_sql(insert.sql, params)
            return len(unique) - existing

    def _compiled_insert(self) -> _CompiledInsert:
        if self._insert is None:
            self._insert = _CompiledInsert.for_dialect(self.engine.dialect)
        return self._insert

    def set_quality_score(self, request_id: str, score: float | None) -> bool:
        """Record a quality score judged later; ``False`` if the request id is unknown."""
        stmt = update(decisions).where(decisions.c.request_id == request_id)
        with self._errors("write to"), self._connect() as conn, conn.begin():
            result = conn.execute(stmt.values(quality_score=score))
            return result.rowcount > 0

    # -- reading --------------------------------------------------------------------------

    def count(self) -> int:
        """How many records the store holds."""
        with self._errors("read"), self._connect() as conn, conn.begin():
            return self._count(conn)

    def records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[DecisionRecord]:
        """Records with ``since <= time < until``, oldest first (or newest first), at most
        ``limit`` of them."""
        query = select(decisions)
        if since is not None:
            query = query.where(decisions.c.time >= since)
        if until is not None:
            query = query.where(decisions.c.time < until)
        order = (decisions.c.time, decisions.c.id)
        query = query.order_by(*(c.desc() for c in order) if newest_first else order)
        if limit is not None:
            query = query.limit(limit)
        with self._errors("read"), self._connect() as conn, conn.begin():
            return [DecisionRecord.from_row(row._asdict()) for row in conn.execute(query)]

    @contextmanager
    def reading(self) -> Iterator[Connection | None]:
        """A connection in one read transaction, for reports: ``None`` when there is nothing to
        read yet (no database file, or not migrated), so reading never creates a database.
        Database errors leave as ``StoreError``."""
        if self.path is not None and not self.path.exists():
            yield None
            return
        with self._errors("read"), self.engine.connect() as conn, conn.begin():
            yield conn if inspect(conn).has_table(decisions.name) else None

    def get(self, request_id: str) -> DecisionRecord | None:
        """The record of one request, if stored."""
        query = select(decisions).where(decisions.c.request_id == request_id)
        with self._errors("read"), self._connect() as conn, conn.begin():
            row = conn.execute(query).first()
        return DecisionRecord.from_row(row._asdict()) if row is not None else None

    def close(self) -> None:
        """Close pooled connections (the store can still be used; it reconnects)."""
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def reset_connections(self) -> None:
        """Drop pooled connections, e.g. after the database restarted."""
        engine = self._engine
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _count(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(decisions)).scalar_one())

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created on first use)."""
        with self._engine_lock:
            if self._engine is None:
                try:
                    self._engine = self._create_engine()
                except ImportError as exc:
                    raise StoreError(
                        f"{self.backend} needs a driver that is not installed ({exc.name}): "
                        "pip install 'psycopg[binary]>=3'"
                    ) from None
            return self._engine

    def _create_engine(self) -> Engine:
        dumps = dumps_json
        if self.backend == "postgresql":
            return create_engine(
                self.location.url,
                pool_size=2,
                max_overflow=4,
                pool_pre_ping=True,
                pool_recycle=1800,
                json_serializer=dumps,
                connect_args={
                    "connect_timeout": max(1, round(self._connect_timeout)),
                    "application_name": "tierwise",
                },
            )
        memory = self.location.path is None
        engine = create_engine(
            self.location.url,
            poolclass=StaticPool if memory else QueuePool,
            **({} if memory else {"pool_size": 2, "max_overflow": 8}),
            json_serializer=dumps,
            connect_args={"timeout": self._busy_timeout, "check_same_thread": False},
        )
        if not memory:
            _check_file_identity(engine, Path(self.location.path or ""))
        busy_ms = max(0, round(self._busy_timeout * 1000))

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see below)
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
                if not memory:
                    _enable_wal(cursor, self._busy_timeout)
                cursor.execute("PRAGMA synchronous = NORMAL")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "")
            conn.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine

    @contextmanager
    def _connect(self, *, immediate: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if immediate and self.backend == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            yield conn

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Database errors as ``StoreError`` (data refused: ``RecordRejectedError``)."""
        try:
            yield
        except (sa_exc.IntegrityError, sa_exc.DataError) as exc:
            raise RecordRejectedError(
                f"{self.display} refused the records: {_first_line(exc)}"
            ) from exc
        except sa_exc.StatementError as exc:
            if not isinstance(exc.orig, ValueError | TypeError):
                raise StoreError(f"cannot {action} {self.display}: {_first_line(exc)}") from exc
            raise RecordRejectedError(f"a record cannot be stored: {exc.orig}") from exc
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            self.reset_connections()
            raise StoreError(f"cannot {action} {self.display}: {_first_line(exc)}") from exc


def _enable_wal(cursor: Any, timeout: float) -> None:
    """Switch a SQLite database to WAL, waiting out other connections doing the same.

    Changing the journal mode needs an exclusive lock and SQLite does not run the busy handler
    for it, so processes opening a new database together would otherwise fail at once with
    "database is locked".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


@dataclass(frozen=True, slots=True)
class _CompiledInsert:
    """The idempotent insert, compiled once for a dialect, and how to turn a record into the
    driver's parameters: its fields read in column order, each column's bind processor applied
    where it has one (SQLAlchemy's own: the same values a plain insert would send)."""

    sql: str
    positional: bool  # SQLite's ``?`` placeholders (tuples) or psycopg's named ones (dicts)
    columns: tuple[str, ...]
    read: Callable[[DecisionRecord], tuple[Any, ...]]  # the fields in column order
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)
    texts: tuple[int, ...]  # positions of text columns (NUL is replaced there)

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> _CompiledInsert:
        insert: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        stmt = insert(decisions).on_conflict_do_nothing(index_elements=[decisions.c.request_id])
        compiled = stmt.compile(dialect=dialect, column_keys=list(RECORD_COLUMNS))
        positional = compiled.positiontup is not None
        columns = tuple(compiled.positiontup) if positional else RECORD_COLUMNS
        processed = []
        for position, name in enumerate(columns):
            process = decisions.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processed.append((position, process))
        texts = tuple(i for i, name in enumerate(columns) if name in TEXT_FIELDS)
        return cls(
            str(compiled), positional, columns, attrgetter(*columns), tuple(processed), texts
        )

    def multi_row_sql(self, rows: int) -> str:
        """The statement inserting ``rows`` rows at once (positional placeholders only)."""
        return _multi_row_sql(self.sql, rows)

    def parameters(self, records: Sequence[DecisionRecord]) -> list[Any]:
        """The driver's parameters for ``records`` (``DecisionRecord.as_row``'s values)."""
        converted: list[tuple[Any, ...]] = []
        for index, record in enumerate(records, 1):
            values = list(self.read(record))
            for position in self.texts:
                text = values[position]
                if text is not None and "\x00" in text:  # PostgreSQL refuses NUL in text
                    values[position] = text.replace("\x00", "\ufffd")
            for position, process in self.processed:  # None too: JSON stores it as 'null'
                values[position] = process(values[position])
            converted.append(tuple(values))
            if index % 64 == 0:
                time.sleep(0)  # let a waiting thread (the proxy's event loop) have the GIL
        if self.positional:
            return converted
        return [dict(zip(self.columns, values, strict=True)) for values in converted]


@lru_cache(maxsize=256)
def _multi_row_sql(single_row_sql: str, rows: int) -> str:
    head, _, rest = single_row_sql.partition(" VALUES ")
    one_row, _, tail = rest.partition(")")
    return f"{head} VALUES {', '.join([one_row + ')'] * rows)}{tail}"


def _check_file_identity(engine: Engine, path: Path) -> None:
    """Refuse a pooled SQLite connection whose file is no longer the one at ``path``."""

    def identity() -> tuple[int, int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_dev, stat.st_ino)

    @event.listens_for(engine, "connect")
    def _remember(dbapi_connection: Any, record: Any) -> None:
        record.info["file"] = identity()

    @event.listens_for(engine, "checkout")
    def _still_there(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("file") != identity() or record.info.get("file") is None:
            raise sa_exc.DisconnectionError(f"{path} was moved, deleted or replaced")


def _unique(records: Sequence[DecisionRecord]) -> list[DecisionRecord]:
    """``records`` without repeated request ids (the first one of each is kept)."""
    seen: set[str] = set()
    unique: list[DecisionRecord] = []
    for record in records:
        if record.request_id not in seen:
            seen.add(record.request_id)
            unique.append(record)
    return unique


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
