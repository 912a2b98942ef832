"""Command-line options several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="A SQLite path or a postgresql:// URL (default: TIERWISE_DATABASE_URL, "
        "else tierwise.db in the data directory).",
    ),
]

SinceOption = Annotated[
    str,
    typer.Option(
        help="Start of the period: a duration back from now (30d, 12h, 90m, 2w), "
        "an ISO date or time (UTC unless it says), or 'all'."
    ),
]


def existing_store(db: str | None) -> str | None:
    """``db`` for a command that only reads the store: a SQLite file that does not exist is an
    error (a mistyped path would otherwise read as an empty period), not a new empty store."""
    import os

    from tierwise.core.errors import InputError
    from tierwise.ledger.store.paths import resolve

    location = resolve(db, os.environ)
    if location.path is not None and not location.path.exists():
        if db:
            raise InputError(f"--db {db}: no such database file ({location.path})")
        raise InputError(
            f"no decision store at {location.path} yet: tierwise serve records there (or give --db)"
        )
    return db
