"""``demo`` and ``fake-anthropic``: tierwise end to end without an API key."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tierwise.cli.console import PolicyOption, err, one_line_errors, out, policy_from
from tierwise.core.policy import Policy
from tierwise.core.pricing import format_usd
from tierwise.learned.pipeline import Router


@one_line_errors
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
    loaded = policy_from(policy)
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
