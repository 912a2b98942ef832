"""The report in the terminal: the four measures, savings, projection, alerts, one breakdown.

Alerts that fire come first, in red, so they are seen before any table.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tierwise.analysis.report.percentiles import Percentiles
from tierwise.analysis.report.shadow import ShadowSummary, retention
from tierwise.analysis.report.summary import Report
from tierwise.core.pricing import format_usd

__all__ = ["render"]

_MICRO = Decimal(1).scaleb(-6)


def render(report: Report, console: Console) -> None:
    """Print ``report`` for a person."""
    console.print(_header(report), soft_wrap=True)
    if report.empty:
        console.print(
            f"no records in this period: nothing has been recorded in {escape(report.store)} "
            "between these times (run requests through `tierwise serve` or `tierwise demo`, "
            "or widen --since)",
            soft_wrap=True,
        )
        return
    for alert in report.alerts:
        if alert.firing:
            console.print(f"[bold red]ALERT[/bold red] [red]{escape(alert.message)}[/red]")
    console.print(_summary(report))
    retained = _retention(report)
    if retained is not None:
        console.print(retained)
    if report.by is not None:
        console.print(_breakdown(report))
    calm = [alert for alert in report.alerts if not alert.firing]
    for alert in calm:
        console.print(f"[green]ok[/green] {escape(alert.message)}", soft_wrap=True)


def _header(report: Report) -> str:
    since = "the first record" if report.since is None else f"{report.since:%Y-%m-%d %H:%M}"
    days = report.days
    length = "" if days is None else f" ({days:,.1f} days)"
    return (
        f"[bold]tierwise report[/bold]: {since} → {report.until:%Y-%m-%d %H:%M} UTC{length}, "
        f"from {escape(report.store)}"
    )


def _summary(report: Report) -> Table:
    m = report.totals
    table = Table(title="summary", show_header=False, title_justify="left")
    table.add_column("measure", style="bold")
    table.add_column("value")
    table.add_row("requests", f"{m.requests:,} ({m.routed:,} routed, {m.errors:,} errors)")
    table.add_row(
        "cost per task",
        f"{_money(m.cost_per_task_micro, 6)} routed vs "
        f"{_money(m.baseline_cost_per_task_micro, 6)} on the baseline",
    )
    saved = "" if m.savings_pct is None else f" ({m.savings_pct:.1%})"
    table.add_row(
        "spend",
        f"{_money(m.cost_micro, 4)} vs {_money(m.baseline_micro, 4)} on the baseline: "
        f"saved {_money(m.savings_micro, 4)}{saved}",
    )
    table.add_row(
        "projected monthly",
        f"{_money(report.projected_monthly_micro(), 2)} vs "
        f"{_money(report.projected_monthly_micro(baseline=True), 2)} on the baseline",
    )
    retention = report.quality_retention
    table.add_row(
        "quality",
        "no scored requests yet"
        if retention is None
        else f"{retention:.1%} of the baseline's ({m.quality_scored:,} scored)",
    )
    table.add_row(
        "escalation rate",
        "-"
        if m.escalation_rate is None
        else f"{m.escalation_rate:.1%} ({m.escalations:,} of {m.routed:,} routed)",
    )
    table.add_row(
        "fallbacks", "-" if m.fallback_rate is None else f"{m.fallback_rate:.1%} ({m.fallbacks:,})"
    )
    table.add_row("prompt cache", _cache(report))
    if report.shadow is not None and report.shadow.evaluations:
        table.add_row("shadow evaluation", _shadow(report.shadow))
    table.add_row("routing overhead", _percentiles(report.overhead))
    table.add_row("upstream latency", _percentiles(report.upstream))
    return table


def _cache(report: Report) -> str:
    """The share of prompt tokens read from cache, per tier, and what session switches paid."""
    m = report.totals
    if m.cache_read_share is None:
        return "no usage recorded"
    tiers = [
        f"{escape(group.key or '(none)')} {group.measures.cache_read_share:.1%}"
        for group, _ in report.tier_shares()
        if group.measures.cache_read_share is not None
    ]
    by_tier = f" ({' · '.join(tiers)})" if tiers else ""
    return (
        f"{m.cache_read_share:.1%} of prompt tokens read from cache{by_tier}; "
        f"{m.switches:,} session switches paid {_money(m.switch_cache_micro, 4)} of cache loss, "
        f"{m.cache_stays:,} stayed for the cache"
    )


def _breakdown(report: Report) -> Table:
    table = Table(title=f"by {report.by}", title_justify="left")
    table.add_column(report.by or "key", no_wrap=True)
    for name in ("requests", "cost", "baseline", "saved", "per task", "baseline/task"):
        table.add_column(name, justify="right")
    table.add_column("escalation", justify="right")
    table.add_column("quality", justify="right")
    for group in report.groups:
        m = group.measures
        saved = "" if m.savings_pct is None else f" ({m.savings_pct:.0%})"
        table.add_row(
            escape(group.key) if group.key is not None else "[dim](none)[/dim]",
            f"{m.requests:,}",
            _money(m.cost_micro, 4),
            _money(m.baseline_micro, 4),
            _money(m.savings_micro, 4) + saved,
            _money(m.cost_per_task_micro, 6),
            _money(m.baseline_cost_per_task_micro, 6),
            "-" if m.escalation_rate is None else f"{m.escalation_rate:.1%}",
            "-" if m.quality_mean is None else f"{m.quality_mean:.1%}",
        )
    return table


def _shadow(summary: ShadowSummary) -> str:
    """Shadow spend apart from the traffic's, and the judge's position bias."""
    failed = summary.shadow_failures + summary.judge_failures
    rate = summary.disagreement_rate
    bias = ""
    if rate is not None:
        bias = f"; orders disagree {rate:.0%} of {summary.both_orders:,} (position bias)"
    return (
        f"{summary.judged:,} judged of {summary.evaluations:,} ({failed:,} failed); "
        f"cost {_money(summary.total_micro, 4)} apart from the spend above "
        f"(shadow {_money(summary.shadow_micro, 4)}, judge {_money(summary.judge_micro, 4)})"
        f"{bias}"
    )


def _retention(report: Report) -> Table | None:
    """Quality retention per task type with its interval, where there are scores."""
    rows = [(group, retention(group.measures)) for group in report.task_types]
    scored = [(group, interval) for group, interval in rows if interval is not None]
    if not scored:
        return None
    table = Table(title="quality retention by task type", title_justify="left")
    table.add_column("task type", no_wrap=True)
    for name in ("requests", "scored", "retention", "95% interval"):
        table.add_column(name, justify="right")
    for group, interval in scored:
        table.add_row(
            escape(group.key) if group.key is not None else "[dim](none)[/dim]",
            f"{group.measures.requests:,}",
            f"{interval.n:,}",
            f"{interval.value:.1%}",
            f"{interval.low:.1%}-{interval.high:.1%}",
        )
    return table


def _percentiles(values: Percentiles) -> str:
    if values.p50 is None:
        return "not measured"
    parts = zip(("p50", "p95", "p99"), (values.p50, values.p95, values.p99), strict=True)
    return " · ".join(f"{name} {value:,.2f} ms" for name, value in parts if value is not None)


def _money(micro: int | Decimal | None, places: int) -> str:
    return "-" if micro is None else format_usd(Decimal(micro) * _MICRO, places)
