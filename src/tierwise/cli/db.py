"""``tierwise db path|status|migrate``: where the decision store is and what state it is in.

``cli.py`` registers ``db_app``; this module imports nothing heavy: SQLAlchemy is loaded inside
the commands that open the database. Passwords in URLs are never printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import typer

from tierwise.cli.options import DbOption
from tierwise.core.errors import TierwiseError

P = ParamSpec("P")
R = TypeVar("R")

db_app = typer.Typer(
    name="db",
    help="The decision store: where it is, its schema and how many records it holds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TierwiseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper


@db_app.command()
@_one_line_errors
def path(db: DbOption = None) -> None:
    """Print the SQLite file's path, or the PostgreSQL URL with its password hidden."""
    from tierwise.ledger.store.paths import resolve

    print(resolve(db).display)


@db_app.command()
@_one_line_errors
def status(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Backend, schema version, pending migrations, record count and spool size."""
    from tierwise.ledger.store import Store

    store = Store(db)
    try:
        state = store.status()
    finally:
        store.close()
    spool = store.spool()
    waiting = spool.size()
    if as_json:
        payload = {
            "backend": state.backend,
            "location": state.location,
            "exists": state.exists,
            "applied": list(state.applied),
            "pending": list(state.pending),
            "unknown": list(state.unknown),
            "records": state.records,
            "spool": {
                "directory": str(spool.directory),
                "files": waiting.files,
                "records": waiting.records,
                "bytes": waiting.bytes,
            },
        }
        print(json.dumps(payload, indent=2))
        return
    version = state.applied[-1] if state.applied else "none"
    print(f"backend:    {state.backend}")
    print(f"location:   {state.location}" + ("" if state.exists else " (not created yet)"))
    print(f"schema:     {len(state.applied)} migration(s) applied (latest: {version})")
    print(f"pending:    {', '.join(state.pending) or 'none'}")
    if state.unknown:
        print(f"newer:      {', '.join(state.unknown)} (applied by a newer tierwise)")
    print(f"records:    {'-' if state.records is None else f'{state.records:,}'}")
    spooled = (
        f"{waiting.records:,} record(s) in {waiting.files} file(s), {waiting.bytes:,} bytes, "
        f"at {spool.directory}"
        if waiting.files
        else "empty"
    )
    print(f"spool:      {spooled}")


@db_app.command()
@_one_line_errors
def migrate(db: DbOption = None) -> None:
    """Create the database or bring its schema up to date (safe to run again)."""
    from tierwise.ledger.store import Store

    with Store(db) as store:
        applied = store.migrate()
        print(f"{store.display}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))
