"""The decision store: records in SQLite (default) or PostgreSQL, and their spool on disk.

    Store(url)                    open a database (lazily): migrate, insert_many, records, count
    resolve(url) / data_dir()     which database, and where tierwise keeps its files
    Spool(directory)              records waiting on disk while the database is unavailable

Names are imported lazily: ``tierwise db`` and the CLI load SQLAlchemy only when a command
actually opens a database.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DATABASE_URL_ENV": "tierwise.store.paths",
    "DATA_DIR_ENV": "tierwise.store.paths",
    "StoreLocation": "tierwise.store.paths",
    "data_dir": "tierwise.store.paths",
    "resolve": "tierwise.store.paths",
    "Replayed": "tierwise.store.spool",
    "Spool": "tierwise.store.spool",
    "SpoolSize": "tierwise.store.spool",
    "RecordRejectedError": "tierwise.store.store",
    "Store": "tierwise.store.store",
    "StoreStatus": "tierwise.store.store",
}

__all__ = [
    "DATABASE_URL_ENV",
    "DATA_DIR_ENV",
    "RecordRejectedError",
    "Replayed",
    "Spool",
    "SpoolSize",
    "Store",
    "StoreLocation",
    "StoreStatus",
    "data_dir",
    "resolve",
]

if TYPE_CHECKING:
    from tierwise.store.paths import (
        DATA_DIR_ENV,
        DATABASE_URL_ENV,
        StoreLocation,
        data_dir,
        resolve,
    )
    from tierwise.store.spool import Replayed, Spool, SpoolSize
    from tierwise.store.store import RecordRejectedError, Store, StoreStatus


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.store' has no attribute {name!r}")
    return getattr(import_module(module), name)
