"""The review in the terminal: one table of cells, then the proposals with their evidence."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tierwise.analysis.report.money import usd
from tierwise.analysis.report.stats import wilson
from tierwise.analysis.review.build import Review

__all__ = ["render"]


def render(review: Review, console: Console) -> None:
    c = review.criteria
    period = "all records" if review.since is None else f"since {review.since:%Y-%m-%d %H:%M}"
    console.print(f"[bold]tierwise review[/bold] — {review.requests} routed requests, {period}")
    if not review.cells:
        console.print("No routed requests recorded in this period: nothing to review.")
        return
    table = Table(title=f"per task type, domain and tier (Wilson {c.confidence:.0%} intervals)")
    for name in ("task type", "domain", "tier", "requests", "cost", "escalation", "quality"):
        table.add_column(name, justify="right" if name in ("requests", "cost") else "left")
    for cell in review.cells:
        s = cell.stats
        escalation = wilson(s.escalation_rate or 0.0, s.routed, c.confidence)
        retention = wilson(s.retention or 0.0, s.quality_n, c.confidence)
        table.add_row(
            escape(cell.task_type or "—"),
            escape(cell.domain or "—"),
            cell.tier.value if cell.tier is not None else "—",
            f"{s.requests:,}" + ("" if s.requests >= c.min_samples else " (few)"),
            f"${usd(s.cost_micro)}",
            escalation.describe() if escalation is not None else "—",
            retention.describe() if retention is not None else "no scores",
        )
    console.print(table)
    if not review.proposals:
        console.print(
            f"No change proposed (a change needs at least {c.min_samples} samples at a tier)."
        )
        return
    console.print("[bold]Proposed changes[/bold] (nothing applied):")
    for p in review.proposals:
        strength = "strong" if p.strong else "tentative"
        console.print(
            f"  {escape(p.task_type)}: {p.direction} {p.current.value} → {p.proposed.value}"
            f" ({strength})"
        )
        for line in p.evidence:
            console.print(f"    {escape(line)}", soft_wrap=True)
