"""Where the store lives: the database URL to use and the per-user data directory.

The URL comes from, in order: an explicit ``--db`` value, ``TIERWISE_DATABASE_URL``, else a
SQLite file ``tierwise.db`` in the data directory. The data directory (the default database and
the spool of records waiting for an unavailable store) is ``TIERWISE_DATA_DIR`` or the
platform's per-user data directory (``~/.local/share/tierwise`` on Linux).

PostgreSQL URLs may be written the usual way (``postgresql://`` or ``postgres://``); they are
rewritten to SQLAlchemy's psycopg 3 driver (``postgresql+psycopg://``). A bare path is a SQLite
file. Nothing here imports SQLAlchemy or touches the disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tierwise.core.errors import StoreError

DATABASE_URL_ENV = "TIERWISE_DATABASE_URL"
DATA_DIR_ENV = "TIERWISE_DATA_DIR"
DB_FILE = "tierwise.db"
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """A database the store can open: its SQLAlchemy URL and what to show for it."""

    url: str  # the SQLAlchemy URL, with its password: never print it
    backend: str  # "sqlite" or "postgresql"
    path: Path | None  # the SQLite file (None for PostgreSQL and in-memory SQLite)

    @property
    def display(self) -> str:
        """The path for SQLite, the URL with its password hidden for PostgreSQL."""
        if self.path is not None:
            return str(self.path)
        return redact(self.url)

    @property
    def key(self) -> str:
        """A short stable name for this database (the spool directory of its records)."""
        ident = str(self.path.resolve()) if self.path is not None else redact(self.url, mask="")
        return f"{self.backend}-{hashlib.sha256(ident.encode('utf-8')).hexdigest()[:12]}"


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``TIERWISE_DATA_DIR``, else the platform's per-user data directory for tierwise."""
    env = os.environ if environ is None else environ
    configured = env.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("tierwise", appauthor=False))


def resolve(url: str | None = None, environ: Mapping[str, str] | None = None) -> StoreLocation:
    """The database to use: ``url``, else ``TIERWISE_DATABASE_URL``, else the default SQLite
    file. ``StoreError`` for a URL that is neither SQLite nor PostgreSQL."""
    env = os.environ if environ is None else environ
    chosen = (url or "").strip() or env.get(DATABASE_URL_ENV, "").strip()
    if not chosen:
        path = data_dir(env) / DB_FILE
        return StoreLocation(f"sqlite:///{path}", "sqlite", path)
    scheme, sep, rest = chosen.partition("://")
    if not sep:
        path = Path(chosen).expanduser().absolute()
        return StoreLocation(f"sqlite:///{path}", "sqlite", path)
    scheme = scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        if not rest.strip("/"):
            raise StoreError("a PostgreSQL URL needs a host or a database: postgresql://host/db")
        return StoreLocation(f"postgresql+psycopg://{rest}", "postgresql", None)
    if scheme in ("sqlite", "sqlite+pysqlite"):
        database = rest[1:] if rest.startswith("/") else rest
        if database in ("", ":memory:"):
            return StoreLocation("sqlite://", "sqlite", None)
        path = Path(database.split("?", 1)[0]).expanduser().absolute()
        return StoreLocation(f"sqlite:///{path}", "sqlite", path)
    shown = redact(chosen)
    raise StoreError(
        f"unsupported database URL {shown!r}: use sqlite:///PATH (or a path) or postgresql://..."
    )


def redact(url: str, *, mask: str = "***") -> str:
    """``url`` with any password replaced by ``mask`` (dropped with the colon when empty)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:
            userinfo = f"{user}:{mask}" if mask else user
        netloc = f"{userinfo}@{hostport}"
    if query:  # libpq also takes the password as a parameter: ?password=...
        pairs = [pair.partition("=") for pair in query.split("&")]
        query = "&".join(
            f"{name}={mask}" if name.lower() == "password" else f"{name}{eq}{value}"
            for name, eq, value in pairs
            if mask or name.lower() != "password"
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))
