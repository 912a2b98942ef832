"""``tierwise estimate-error``: how far the offline token estimate is from the API's counts.

``cli.py`` registers ``estimate_error_command``; SQLAlchemy and the store are imported inside
it, so that every other ``tierwise`` command stays light.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Annotated

import typer

from tierwise.cli.options import DbOption, SinceOption, existing_store

__all__ = ["estimate_error_command"]


def estimate_error_command(
    since: SinceOption = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """The token estimate's mean relative error per model and prompt kind, and the
    context.estimate_factor that would cancel it (from requests whose prompt was counted)."""
    from rich.console import Console
    from rich.table import Table

    from tierwise.analysis.estimate_accuracy import estimate_errors
    from tierwise.analysis.report import parse_since
    from tierwise.ledger.store import Store

    now = datetime.now(UTC)
    start = None if since.strip().lower() == "all" else parse_since(since, now, option="--since")
    with Store(existing_store(db), environ=os.environ) as store:
        rows = estimate_errors(store.records(since=start, until=now))
    if as_json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
        return
    console = Console()
    if not rows:
        console.print(
            "no counted requests in the period: counts are made only near a context threshold, "
            "with [context] count_tokens = true in the policy",
            markup=False,
        )
        return
    table = Table(title="offline token estimate vs the API's count_tokens")
    for column in ("model", "kind", "pairs", "mean rel. error", "mean abs. error", "factor"):
        table.add_column(column, justify="left" if column in ("model", "kind") else "right")
    for row in rows:
        table.add_row(
            row.model,
            row.kind,
            f"{row.pairs:,}",
            f"{row.mean_relative_error:+.1%}",
            f"{row.mean_absolute_error:.1%}",
            f"{row.suggested_factor:.3f}",
        )
    console.print(table)
    overall = rows[-1]
    console.print(
        f"to cancel the mean error, set [context] estimate_factor = "
        f"{overall.suggested_factor:.3f} in the policy (see docs/token-counts.md)",
        markup=False,
    )
