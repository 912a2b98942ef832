"""The ``tierwise`` command. Thin: it parses arguments, calls the library, renders with rich.

Every ``TierwiseError`` becomes one line on stderr and exit code 2; nothing prints a traceback
for bad input.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tierwise.cli.db import db_app
from tierwise.cli.estimate_error import estimate_error_command
from tierwise.cli.evaluate import calibrate_command, eval_command
from tierwise.cli.orchestrate import orchestrate_command
from tierwise.cli.replay import replay_command
from tierwise.cli.report import report_command
from tierwise.cli.review import review_command
from tierwise.cli.serve import serve_command
from tierwise.cli.train import train_command
from tierwise.core.catalog import load_catalog
from tierwise.core.errors import InputError, TierwiseError
from tierwise.core.policy import Policy, load_policy
from tierwise.core.pricing import format_usd
from tierwise.core.recommend import recommend as recommend_task
from tierwise.core.request import RouteRequest
from tierwise.core.router import Router
from tierwise.core.tiers import Tier

app = typer.Typer(
    name="tierwise",
    help="Send each Claude request to the cheapest model tier that does it well.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")

PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="Policy TOML file (default: the shipped policy).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn tierwise errors into one clear line and exit code 2."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TierwiseError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def _policy(path: Path | None) -> Policy:
    policy = load_policy(path)
    for warning in policy.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    return policy


@app.command()
@_one_line_errors
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
    rec = recommend_task(request, router=Router(_policy(policy)), output_tokens=output_tokens)
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


@app.command()
@_one_line_errors
def route(
    batch: Annotated[
        Path,
        typer.Option(
            "--batch",
            help="JSONL rows: id, prompt, optional system, task_type, domain, user_tier "
            "('-' reads stdin).",
        ),
    ],
    policy: PolicyOption = None,
    router_file: Annotated[
        Path | None,
        typer.Option("--router", help="Route with a learned router file; rows get a 'score'."),
    ] = None,
) -> None:
    """Route every row of a JSONL file; write one JSON line per row to stdout."""
    if router_file is not None:
        from tierwise.learned.batch import LearnedBatch

        router: Router | LearnedBatch = LearnedBatch(router_file, _policy(policy))
    else:
        router = Router(_policy(policy))
    failures = 0
    write = sys.stdout.write
    for line_number, row in _read_jsonl(batch):
        row_id = row.get("id", line_number) if isinstance(row, dict) else line_number
        try:
            decision = router.decide(_row_request(row, line_number))
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


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        stream = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def _row_request(row: Any, line_number: int) -> RouteRequest:
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


@app.command()
@_one_line_errors
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


@app.command()
@_one_line_errors
def cost(
    requests_per_day: Annotated[float, typer.Option(help="Requests per day.")] = 1000,
    input_tokens: Annotated[int, typer.Option(help="Average prompt tokens per request.")] = 2000,
    output_tokens: Annotated[int, typer.Option(help="Average answer tokens per request.")] = 500,
    cache_hit: Annotated[
        float, typer.Option(help="Share of prompt tokens read from cache (0-1).")
    ] = 0.0,
    batch_share: Annotated[
        float, typer.Option(help="Share of requests sent via the Batch API (0-1).")
    ] = 0.0,
    mix: Annotated[
        str | None, typer.Option(help="Tier mix, e.g. haiku=0.5,sonnet=0.35,opus=0.15.")
    ] = None,
    sample: Annotated[
        Path | None,
        typer.Option(help="JSONL of sample prompts: route them to measure the tier mix."),
    ] = None,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Estimate monthly spend routed vs all-Opus and all-Sonnet, and whether routing is worth it."""
    from tierwise.analysis.monthly_cost import Workload, estimate_monthly

    loaded = _policy(policy)
    workload = Workload(
        requests_per_day=_decimal(requests_per_day, "--requests-per-day"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_hit_share=_decimal(cache_hit, "--cache-hit"),
        batch_share=_decimal(batch_share, "--batch-share"),
    )
    if mix is not None and sample is not None:
        raise InputError("give either --mix or --sample, not both")
    tier_mix = _parse_mix(mix) if mix else _sample_mix(sample, loaded) if sample else _default_mix()
    estimate = estimate_monthly(workload, tier_mix, loaded)
    baseline = loaded.top_tier
    if as_json:
        payload = {
            "mix": {t.value: float(s) for t, s in estimate.mix.items()},
            "monthly_routed_usd": float(round(estimate.routed, 2)),
            "monthly_by_tier_usd": {
                t.value: float(round(v, 2)) for t, v in estimate.per_tier.items()
            },
            "savings_vs": {
                t.value: _fraction(estimate.savings_against(t)) for t in estimate.per_tier
            },
            "advice": estimate.advice(baseline),
        }
        out.print_json(json.dumps(payload))
        return
    mix_text = ", ".join(f"{t.value} {s:.0%}" for t, s in estimate.mix.items())
    out.print(f"tier mix: {mix_text}")
    table = Table(title="estimated monthly spend")
    table.add_column("scenario")
    table.add_column("USD / month", justify="right")
    table.add_column("routing saves", justify="right")
    table.add_row("routed", f"{estimate.routed:,.2f}", "")
    for tier, amount in reversed(list(estimate.per_tier.items())):
        saved = estimate.savings_against(tier)
        table.add_row(
            f"all {tier.value}", f"{amount:,.2f}", "" if saved is None else f"{saved:.0%}"
        )
    out.print(table)
    out.print(estimate.advice(baseline))


def _decimal(value: float, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{name}: not a number: {value}") from None


def _fraction(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _parse_mix(text: str) -> dict[Tier, Decimal]:
    mix: dict[Tier, Decimal] = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        try:
            mix[Tier.parse(name)] = Decimal(share.strip())
        except InvalidOperation:
            raise InputError(f"--mix: {part.strip()!r} is not tier=share") from None
    return mix


def _default_mix() -> dict[Tier, Decimal]:
    """A typical coding-assistant mix, used when neither --mix nor --sample is given."""
    return {Tier.HAIKU: Decimal("0.45"), Tier.SONNET: Decimal("0.40"), Tier.OPUS: Decimal("0.15")}


def _sample_mix(path: Path, policy: Policy) -> dict[Tier, Decimal]:
    router = Router(policy)
    counts: dict[Tier, int] = {}
    for line_number, row in _read_jsonl(path):
        tier = router.decide(_row_request(row, line_number)).tier
        counts[tier] = counts.get(tier, 0) + 1
    total = sum(counts.values())
    if total == 0:
        raise InputError(f"{path}: no prompts to route")
    return {tier: Decimal(n) / total for tier, n in sorted(counts.items())}


@app.command()
@_one_line_errors
def demo(
    policy: PolicyOption = None,
    upstream: Annotated[
        str | None,
        typer.Option(
            help="Real upstream, e.g. https://api.anthropic.com (key: ANTHROPIC_API_KEY)."
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only route and price; start no server.")
    ] = False,
) -> None:
    """Send the bundled workload through the proxy and show tier mix, savings and overhead."""
    loaded = _policy(policy)
    if offline:
        _offline_demo(loaded)
        return
    import os

    from tierwise.demo.live import run_live_demo

    result = run_live_demo(
        loaded, upstream_url=upstream, api_key=os.environ.get("ANTHROPIC_API_KEY") or None
    )
    table = Table(title=f"tierwise demo: the bundled workload via the proxy ({result.upstream})")
    for column in ("request", "model", "cost", "all-Opus", "why"):
        table.add_column(column, overflow="fold", no_wrap=column == "model")
    for task, outcome in result.outcomes:
        reason = outcome.routed.reason if outcome.routed else outcome.error_type or ""
        table.add_row(
            task.id + (" (stream)" if outcome.stream else ""),
            outcome.served_model or f"error {outcome.status}",
            format_usd(outcome.cost.total, 5) if outcome.cost else "-",
            format_usd(outcome.baseline_cost.total, 5) if outcome.baseline_cost else "-",
            escape(reason),
        )
    out.print(table)
    served = result.served()
    tiers = Counter(o.routed.tier.value for o in served if o.routed and o.routed.tier)
    mix = ", ".join(f"{tier} {n / len(served):.0%}" for tier, n in tiers.most_common())
    routed, baseline = result.total(baseline=False), result.total(baseline=True)
    saved = f"{1 - routed / baseline:.0%} saved" if baseline else "no baseline"
    out.print(f"{len(served)} of {len(result.outcomes)} requests answered; tier mix: {mix}")
    out.print(
        f"cost: {format_usd(routed, 4)} routed vs {format_usd(baseline, 4)} "
        f"if every request had gone to the top tier ({saved})"
    )
    decision = [o.decision_latency for o in served if o.decision_latency is not None]
    overhead = [
        o.total_latency - o.upstream_latency for o in served if o.upstream_latency is not None
    ]
    out.print(
        f"routing decision: p50 {result.percentile_ms(decision, 0.5):.3f} ms, "
        f"p99 {result.percentile_ms(decision, 0.99):.3f} ms; proxy overhead incl. routing: "
        f"p50 {result.percentile_ms(overhead, 0.5):.2f} ms"
    )


def _offline_demo(policy: Policy) -> None:
    from tierwise.demo.offline import ASSUMED_OUTPUT_TOKENS, run_offline_demo

    result = run_offline_demo(Router(policy))
    table = Table(title="tierwise demo (offline): the bundled workload, routed and priced")
    for column in ("request", "model", "why"):
        table.add_column(column, overflow="fold")
    for task_id, rec in result.rows:
        table.add_row(task_id, rec.decision.model, escape(rec.decision.reason))
    out.print(table)
    total = len(result.rows)
    mix = ", ".join(f"{t.value} {n / total:.0%}" for t, n in sorted(result.tier_mix.items()))
    routed, baseline = result.routed_cost, result.baseline_cost
    out.print(f"tier mix: {mix} of {total} requests")
    out.print(
        f"estimated cost: {format_usd(routed, 4)} routed vs {format_usd(baseline, 4)} all on the "
        f"top tier: {1 - routed / baseline:.0%} saved (~{ASSUMED_OUTPUT_TOKENS} output tokens each)"
    )
    out.print(
        f"routing overhead: p50 {result.decision_percentile(0.5):.0f} µs, "
        f"max {max(result.decision_us):.0f} µs per decision"
    )


app.command(name="serve")(serve_command)  # imports Starlette/uvicorn only when it runs
app.add_typer(db_app, name="db")  # imports SQLAlchemy only when a db command runs
app.command(name="eval")(_one_line_errors(eval_command))  # numpy only when it runs
app.command(name="train")(_one_line_errors(train_command))  # scikit-learn only when it runs
app.command(name="calibrate")(_one_line_errors(calibrate_command))
app.command(name="orchestrate")(orchestrate_command)  # imports the SDK only when it runs
app.command(name="report")(_one_line_errors(report_command))  # SQLAlchemy only when run
app.command(name="review")(_one_line_errors(review_command))  # SQLAlchemy only when run
app.command(name="replay")(_one_line_errors(replay_command))  # SQLAlchemy only when run
app.command(name="estimate-error")(_one_line_errors(estimate_error_command))  # SQLAlchemy too


@app.command(name="fake-anthropic")
def fake_anthropic(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8788,
    chunk_delay: Annotated[
        float, typer.Option(help="Seconds between streamed events (0: as fast as possible).")
    ] = 0.0,
    latency: Annotated[
        float, typer.Option(help="Seconds before each answer starts (a model's thinking time).")
    ] = 0.0,
) -> None:
    """Run the fake Anthropic API (real wire format, no key) for local runs and benchmarks."""
    import uvicorn

    from tierwise.testing import FakeConfig, Reply, RequestLog, Script, fake_anthropic_app

    err.print(f"fake Anthropic API on http://{host}:{port} (any key is accepted)")
    uvicorn.run(
        # keep only recent requests: a long benchmark must not grow the log without bound
        fake_anthropic_app(
            FakeConfig(
                script=Script(default=Reply(latency=latency)),
                log=RequestLog(keep=1000),
                chunk_delay=chunk_delay,
            )
        ),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
