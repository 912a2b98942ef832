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
