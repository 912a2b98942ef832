"""``tierwise review``: the typer command. Imports nothing heavy until it runs."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli.options import DbOption, SinceOption, existing_store
from tierwise.core.errors import InputError

__all__ = ["review_command"]


def review_command(
    since: SinceOption = "30d",
    db: DbOption = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="The policy to review (default: the shipped policy)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the proposed changes as a policy file."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the review as JSON.")] = False,
    min_samples: Annotated[
        int, typer.Option(help="Requests (or scores) a tier needs before anything is proposed.")
    ] = 30,
    target: Annotated[
        float, typer.Option(help="Quality retention a tier must keep (0-1; 1.0 = baseline).")
    ] = 0.95,
    escalation_limit: Annotated[
        float, typer.Option(help="Upgrade when more than this share of requests escalate.")
    ] = 0.20,
    confidence: Annotated[
        float, typer.Option(help="Confidence level of the Wilson intervals (0-1).")
    ] = 0.95,
) -> None:
    """Volume, cost, escalation and quality per task type, domain and tier, and proposed
    routing-table changes with their evidence. Nothing is applied."""
    from rich.console import Console

    from tierwise.analysis.report import parse_since
    from tierwise.analysis.review import Criteria, build_review
    from tierwise.analysis.review.render import render
    from tierwise.core.policy import load_policy
    from tierwise.ledger.store import Store

    criteria = Criteria(min_samples, target, escalation_limit, confidence)
    now = datetime.now(UTC)
    start = None if since.strip().lower() == "all" else parse_since(since, now)
    current = load_policy(policy)
    with Store(existing_store(db), environ=os.environ) as store:
        review = build_review(store, current, since=start, until=now, criteria=criteria)
    if output is not None:
        try:
            output.write_text(review.toml(_extends(policy, output)), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"-o: cannot write {output}: {exc.strerror}") from None
    if as_json:
        sys.stdout.write(json.dumps(review.as_json(), indent=2, ensure_ascii=False) + "\n")
        return
    render(review, Console(highlight=False))
    if output is not None:
        print(
            f"proposal written to {output} (nothing applied; try: tierwise replay --policy "
            f"{output})"
        )


def _extends(policy: Path | None, output: Path) -> str:
    """What the proposal extends: the default, or the reviewed file as seen from ``output``."""
    if policy is None:
        return "default"
    try:
        return os.path.relpath(policy.resolve(), output.resolve().parent)
    except ValueError:  # another drive (Windows): no relative path
        return str(policy.resolve())
