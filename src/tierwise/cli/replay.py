"""``tierwise replay``: the typer command. Imports nothing heavy until it runs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress display on stderr.")
    ] = False,
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
    with Store(existing_store(db), environ=os.environ) as store, _progress(quiet) as advance:
        report = replay_store(store, new, since=start, until=now, known=known, progress=advance)
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
        return
    render(report, Console(highlight=False))


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A bar of records re-decided on stderr (hidden when not a terminal, or with --quiet)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("re-deciding"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as progress:
        task = progress.add_task("replay", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)
