"""``tierwise orchestrate "TASK"``: plan with the orchestrator model, route the subtasks, show
each step's cost against the all-Opus counterfactual."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tierwise.core.errors import InputError, TierwiseError
from tierwise.core.policy import load_policy
from tierwise.core.pricing import format_usd


def orchestrate_command(
    task: Annotated[str, typer.Argument(help="The task to plan and delegate.")],
    upstream: Annotated[
        str | None,
        typer.Option(help="Anthropic API base URL (a `tierwise fake-anthropic` server works)."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy TOML file (default: the shipped one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Let the orchestrator model plan TASK as subtasks, route each by the policy, synthesise."""
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        from tierwise.orchestration.run import orchestrate

        key = os.environ.get("ANTHROPIC_API_KEY") or None
        if key is None and upstream is None:
            raise InputError(
                "orchestrate calls the Messages API: set ANTHROPIC_API_KEY, or pass --upstream "
                "URL (for example a `tierwise fake-anthropic` server)"
            )
        options: dict[str, Any] = {"api_key": key or "no-key", "max_retries": 1}
        if upstream is not None:
            options["base_url"] = upstream
        result = orchestrate(task, policy=load_policy(policy), **options)
    except TierwiseError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        data = {
            "task": task,
            "answer": result.answer,
            "cost_usd": str(result.cost),
            "all_opus_cost_usd": str(result.all_opus_cost),
            "steps": [
                {
                    "name": s.name,
                    "model": s.model,
                    "cost_usd": str(s.cost),
                    "all_opus_cost_usd": str(s.opus_cost),
                    "error": s.error,
                }
                for s in result.steps
            ],
        }
        out.print_json(json.dumps(data, ensure_ascii=False))
    else:
        table = Table(title="tierwise orchestrate")
        for column in ("step", "model", "cost", "all-Opus", "status"):
            table.add_column(column, overflow="fold")
        for s in result.steps:
            status = "ok" if s.error is None else f"failed: {s.error}"
            table.add_row(
                s.name, s.model or "-", format_usd(s.cost), format_usd(s.opus_cost), escape(status)
            )
        out.print(table)
        out.print(escape(result.answer) or "(no answer)", soft_wrap=True)
        out.print(
            f"cost {format_usd(result.cost)} vs {format_usd(result.all_opus_cost)} all on the "
            f"orchestrator's model"
        )
    if result.plan is None or result.failed:
        raise typer.Exit(1)
