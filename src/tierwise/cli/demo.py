"""``demo`` and ``fake-anthropic``: tierwise end to end without an API key."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table

from tierwise.cli.console import PolicyOption, err, one_line_errors, out, policy_from
from tierwise.core.policy import Policy
from tierwise.core.pricing import format_usd
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome

NARROW = 100  # below this many columns the demo table drops the all-Opus column


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
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Where to record the demo's decisions (default: demo.db in the data "
            "directory, apart from the store serve uses).",
        ),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Record the demo's decisions.")
    ] = True,
) -> None:
    """Send the bundled workload through the proxy and show tier mix, savings and overhead."""
    loaded = policy_from(policy)
    if offline:
        _offline_demo(loaded)
        return
    import os

    from tierwise.demo.live import demo_db, run_live_demo

    store = db or demo_db()
    result = run_live_demo(
        loaded,
        upstream_url=upstream,
        api_key=os.environ.get("ANTHROPIC_API_KEY") or None,
        record=record,
        db=store,
    )
    wide = out.width >= NARROW
    rows: list[list[str]] = []
    for task, outcome in result.outcomes:
        cells = [
            task.id + ("*" if outcome.stream else ""),
            outcome.served_model or f"error {outcome.status}",
            format_usd(outcome.cost.total, 5) if outcome.cost else "-",
        ]
        if wide:
            cells.append(
                format_usd(outcome.baseline_cost.total, 5) if outcome.baseline_cost else "-"
            )
        cells.append(escape(_one_line(_reason(outcome))))
        rows.append(cells)
    title = f"tierwise demo: the bundled workload via the proxy ({result.upstream})"
    out.print(
        _compact_table(
            title,
            ["request", "model", "cost", "all-Opus", "why"]
            if wide
            else ["request", "model", "cost", "why"],
            rows,
        )
    )
    out.print("* streamed")
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
    if result.store is not None:
        store = escape(result.store)
        out.print(
            f"demo records: {result.recorded} in {store} (apart from serve's)", soft_wrap=True
        )
        out.print(f"see them with: tierwise report --db {store}", soft_wrap=True)


def _compact_table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    """One line per row: every column as wide as its widest cell, the last (the reason) cut
    with an ellipsis to what the terminal has left."""
    table = Table(title=title, padding=(0, 1))
    widths = [
        max([cell_len(column), *(cell_len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    # each column takes its padding and a border (3 cells), plus the table's left border
    left = out.width - 1 - sum(w + 3 for w in widths[:-1]) - 3
    widths[-1] = max(12, min(widths[-1], left))
    for column, width in zip(columns, widths, strict=True):
        table.add_column(
            column,
            no_wrap=True,
            overflow="ellipsis",
            width=width,
            justify="right" if column in ("cost", "all-Opus") else "left",
        )
    for row in rows:
        table.add_row(*row)
    return table


def _reason(outcome: Outcome) -> str:
    """The decision's full reason (any script): the routed ``reason`` is the ASCII form made
    for the ``x-tierwise-reason`` header."""
    routed = outcome.routed
    if routed is None:
        return outcome.error_type or ""
    if routed.decision is not None:
        return routed.decision.reason
    return routed.reason


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _offline_demo(policy: Policy) -> None:
    from tierwise.demo.offline import ASSUMED_OUTPUT_TOKENS, run_offline_demo

    result = run_offline_demo(Router(policy))
    rows = [
        [task_id, rec.decision.model, escape(_one_line(rec.decision.reason))]
        for task_id, rec in result.rows
    ]
    title = "tierwise demo (offline): the bundled workload, routed and priced"
    out.print(_compact_table(title, ["request", "model", "why"], rows))
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
