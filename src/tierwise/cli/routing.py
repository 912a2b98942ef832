"""``recommend``, ``route`` and ``models``: what routing decides, and the models it can pick."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tierwise.cli.console import JsonOption, PolicyOption, err, one_line_errors, out, policy_from
from tierwise.core.catalog import load_catalog
from tierwise.core.errors import InputError, TierwiseError
from tierwise.core.pricing import format_usd
from tierwise.core.recommend import recommend as recommend_task
from tierwise.core.request import RouteRequest
from tierwise.learned.pipeline import Router


@one_line_errors
def recommend(
    task: Annotated[
        str, typer.Argument(help="The task, as you would ask Claude ('-' reads stdin).")
    ],
    task_type: Annotated[str | None, typer.Option(help="Task type from the routing table.")] = None,
    domain: Annotated[str | None, typer.Option(help="Code domain (frontend, database...).")] = None,
    user_tier: Annotated[
        str | None, typer.Option(help="Caller's plan (free, paid, enterprise).")
    ] = None,
    context_tokens: Annotated[
        int | None, typer.Option(help="Size of the whole prompt in tokens, if known.")
    ] = None,
    output_tokens: Annotated[
        int | None, typer.Option(help="Expected answer length for the cost estimate.")
    ] = None,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recommend a model for a task: tier, max_tokens, reason, trace and estimated cost."""
    text = sys.stdin.read() if task == "-" else task
    if context_tokens is not None and context_tokens < 0:
        raise InputError(f"--context-tokens must not be negative, got {context_tokens}")
    request = RouteRequest(
        text=text,
        task_type=task_type,
        domain=domain,
        user_tier=user_tier,
        context_tokens=context_tokens,
    )
    rec = recommend_task(request, router=Router(policy_from(policy)), output_tokens=output_tokens)
    if as_json:
        out.print_json(json.dumps(rec.as_dict(), ensure_ascii=False))
        return
    decision = rec.decision
    out.print(
        f"[bold]{decision.model}[/bold]  "
        f"({decision.tier.value}, max_tokens {decision.max_tokens:,})"
    )
    out.print(f"why: {escape(decision.reason)}", soft_wrap=True)
    fraction = rec.savings_fraction
    saved = "" if fraction is None else f", {fraction:.0%} less"
    out.print(
        f"estimated cost: {format_usd(rec.estimated_cost.total)} vs "
        f"{format_usd(rec.baseline_cost.total)} on {decision.baseline_model}{saved} "
        f"(~{rec.input_tokens:,} tokens in, {rec.output_tokens:,} out assumed)"
    )
    out.print("trace:")
    for verdict in decision.trace:
        out.print(f"  {escape(verdict.describe())}", soft_wrap=True)


@one_line_errors
def route(
    batch: Annotated[
        Path,
        typer.Option(
            "--batch",
            help="JSONL rows: id, prompt, optional system, task_type, domain, user_tier "
            "('-' reads stdin). A line that cannot be routed (not JSON, not a valid row) gets "
            "an {id, error} line in its place and the rest are still routed; the exit code is "
            "then 1.",
        ),
    ],
    policy: PolicyOption = None,
    router_file: Annotated[
        Path | None,
        typer.Option("--router", help="Route with a learned router file; rows get a 'score'."),
    ] = None,
) -> None:
    """Route every row of a JSONL file; write one JSON line per row to stdout.

    One rule for every bad line (invalid JSON or an invalid row): an {"id", "error"} line in
    its place, the other rows routed, exit code 1 at the end.
    """
    if router_file is not None:
        from tierwise.learned.batch import LearnedBatch

        router: Router | LearnedBatch = LearnedBatch(router_file, policy_from(policy))
    else:
        router = Router(policy_from(policy))
    failures = 0
    write = sys.stdout.write
    for line_number, row in read_jsonl(batch, skip_invalid=True):
        row_id = row.get("id", line_number) if isinstance(row, dict) else line_number
        try:
            if isinstance(row, InvalidLine):
                raise row.error
            decision = router.decide(row_request(row, line_number))
        except TierwiseError as exc:
            failures += 1
            write(json.dumps({"id": row_id, "error": str(exc)}, ensure_ascii=False) + "\n")
            continue
        result: dict[str, Any] = {
            "id": row_id,
            "model": decision.model,
            "tier": decision.tier.value,
            "reason": decision.reason,
        }
        if decision.score is not None:
            result["score"] = decision.score
        write(json.dumps(result, ensure_ascii=False) + "\n")
    if failures:
        err.print(
            f"[red]error:[/red] {failures} row(s) could not be routed (see their 'error' field)"
        )
        raise typer.Exit(1)


@dataclass(frozen=True)
class InvalidLine:
    """A line of a JSONL file that is not valid JSON (``read_jsonl(skip_invalid=True)``)."""

    error: InputError


def read_jsonl(path: Path, *, skip_invalid: bool = False) -> Iterator[tuple[int, Any]]:
    """The parsed lines of ``path`` (blank lines skipped); an invalid line is an
    ``InputError``, or with ``skip_invalid`` an ``InvalidLine`` in its place."""
    try:
        stream = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                error = InputError(f"{path}:{number}: not valid JSON ({exc.msg})")
                if not skip_invalid:
                    raise error from None
                row = InvalidLine(error)
            yield number, row


def row_request(row: Any, line_number: int) -> RouteRequest:
    if not isinstance(row, dict):
        raise InputError(f"line {line_number}: a row must be a JSON object")
    prompt = row.get("prompt")
    if not isinstance(prompt, str):
        raise InputError(f"line {line_number}: 'prompt' must be a string")
    hints = {key: row.get(key) for key in ("system", "task_type", "domain", "user_tier")}
    for key, value in hints.items():
        if value is not None and not isinstance(value, str):
            raise InputError(f"line {line_number}: {key!r} must be a string")
    category = row.get("category")
    return RouteRequest(
        text=prompt,
        system=hints["system"] or "",
        task_type=hints["task_type"],
        domain=hints["domain"],
        user_tier=hints["user_tier"],
        metadata={"category": category} if isinstance(category, str) else {},
    )


@one_line_errors
def models(
    catalog_file: Annotated[
        list[Path] | None,
        typer.Option("--catalog", help="Extra catalog file(s) overriding the shipped one."),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include retired models.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the model catalog: tier, context window, prices per million tokens, lifecycle."""
    catalog = load_catalog(*(catalog_file or []))
    specs = [s for s in catalog if show_all or s.lifecycle.value != "retired"]
    if as_json:
        rows = [s.model_dump(mode="json") for s in specs]
        out.print_json(json.dumps(rows))
        return
    table = Table(title="tierwise model catalog (USD per million tokens)")
    for column in (
        "model",
        "tier",
        "window",
        "max out",
        "input",
        "output",
        "write 5m",
        "write 1h",
        "read",
        "lifecycle",
    ):
        table.add_column(
            column,
            justify="left" if column in {"model", "tier", "lifecycle"} else "right",
            no_wrap=column == "model",
        )
    for spec in specs:
        p = spec.prices
        lifecycle = spec.lifecycle.value + (f" → {spec.retires_at}" if spec.retires_at else "")
        table.add_row(
            spec.id,
            spec.line.value,
            f"{spec.context_window:,}",
            f"{spec.max_output:,}",
            *(
                _price(v)
                for v in (p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read)
            ),
            lifecycle,
        )
    out.print(table)


def _price(value: Decimal | None) -> str:
    return "unknown" if value is None else f"{value.normalize():f}"
