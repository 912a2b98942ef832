"""``tierwise replay``: the typer command. Imports nothing heavy until it runs."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli.options import DbOption, SinceOption, existing_store

__all__ = ["replay_command"]


def replay_command(
    policy: Annotated[
        Path, typer.Option("--policy", help="The new policy to try on the recorded requests.")
    ],
    since: SinceOption = "30d",
    db: DbOption = None,
    recorded_policy: Annotated[
        list[Path] | None,
        typer.Option(
            "--recorded-policy",
            help="A policy the records were made under (repeatable): lets replay name the "
            "keyword phrases the new policy adds that nobody looked for.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Re-decide logged requests with a new policy, without calling any API: how the tier
    mix, cost and expected quality would change."""
    from rich.console import Console

    from tierwise.analysis.replay.render import render
    from tierwise.analysis.replay.summary import replay_store
    from tierwise.analysis.report import parse_since
    from tierwise.core.policy import load_policy
    from tierwise.ledger.store import Store

    now = datetime.now(UTC)
    start = None if since.strip().lower() == "all" else parse_since(since, now)
    new = load_policy(policy)
    known = [load_policy(path) for path in recorded_policy or ()]
    with Store(existing_store(db), environ=os.environ) as store:
        report = replay_store(store, new, since=start, until=now, known=known)
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
        return
    render(report, Console(highlight=False))
