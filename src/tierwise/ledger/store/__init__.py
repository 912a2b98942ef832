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
    "DATABASE_URL_ENV": "tierwise.ledger.store.paths",
    "DATA_DIR_ENV": "tierwise.ledger.store.paths",
    "StoreLocation": "tierwise.ledger.store.paths",
    "data_dir": "tierwise.ledger.store.paths",
    "resolve": "tierwise.ledger.store.paths",
    "Replayed": "tierwise.ledger.store.spool",
    "Spool": "tierwise.ledger.store.spool",
    "SpoolSize": "tierwise.ledger.store.spool",
    "RecordRejectedError": "tierwise.ledger.store.database",
    "Store": "tierwise.ledger.store.database",
    "StoreStatus": "tierwise.ledger.store.database",
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
    from tierwise.ledger.store.database import RecordRejectedError, Store, StoreStatus
    from tierwise.ledger.store.paths import (
        DATA_DIR_ENV,
        DATABASE_URL_ENV,
        StoreLocation,
        data_dir,
        resolve,
    )
    from tierwise.ledger.store.spool import Replayed, Spool, SpoolSize


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.ledger.store' has no attribute {name!r}")
    return getattr(import_module(module), name)
