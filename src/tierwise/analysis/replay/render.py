"""The replay in the terminal: what moved, what it costs, what quality the evidence expects."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tierwise.analysis.replay.summary import ASSUMPTIONS, Mean, ReplayReport
from tierwise.analysis.report.money import usd
from tierwise.core.tiers import Tier

__all__ = ["render"]

_ORDER = {tier.value: tier.rank for tier in Tier}


def render(report: ReplayReport, console: Console) -> None:
    console.print(
        f"[bold]tierwise replay[/bold] of {escape(report.policy)} — {report.records} records, "
        f"{report.replayed} re-decided ({_basis(report)}), no API called"
    )
    for why, count in report.skipped.most_common():
        console.print(f"  skipped {count}: {escape(why)}")
    for why, count in report.refused.most_common():
        console.print(f"  [yellow]refused by the new policy[/yellow] {count}: {escape(why)}")
    if not report.replayed:
        return
    moved = sum(report.moves.values())
    console.print(f"Same model as recorded: {report.same}; moved: {moved}")
    tiers = Table(title="tier mix")
    for name in ("tier", "recorded", "replayed"):
        tiers.add_column(name, justify="left" if name == "tier" else "right")
    names = sorted(set(report.tiers_before) | set(report.tiers_after), key=_rank)
    for name in names:
        tiers.add_row(name, str(report.tiers_before[name]), str(report.tiers_after[name]))
    console.print(tiers)
    change = report.cost_change
    console.print(
        f"Cost of {report.priced} priced requests: ${usd(report.cost_before)} recorded → "
        f"${usd(report.cost_after)} replayed"
        + ("" if change is None else f" ({change:+.1%})")
        + (f"; {report.unpriced} without usage not counted" if report.unpriced else "")
    )
    console.print(
        f"Expected quality retention: {_mean(report.quality_before)} → "
        f"{_mean(report.quality_after)}; escalation rate: {_mean(report.escalation_before)} → "
        f"{_mean(report.escalation_after)}"
    )
    if report.no_quality_evidence:
        console.print(
            f"  [yellow]no evidence[/yellow]: {report.no_quality_evidence} moved requests go to "
            "a tier where their task type has no recorded quality scores"
        )
    table = Table(title="per task type")
    for name in ("task type", "requests", "moved", "tiers", "cost", "quality"):
        table.add_column(name, justify="right" if name in ("requests", "moved") else "left")
    for row in report.task_rows():
        tiers_text = f"{_mix(row.before)} → {_mix(row.after)}"
        quality = f"{_mean(row.quality_before)} → {_mean(row.quality_after)}"
        if row.no_evidence:
            quality += f" ({row.no_evidence} without evidence)"
        table.add_row(
            escape(row.task_type or "—"),
            str(row.requests),
            str(row.changed),
            tiers_text,
            f"${usd(row.cost_before)} → ${usd(row.cost_after)}",
            quality,
        )
    console.print(table)
    for note, count in report.notes.most_common(8):
        console.print(f"  note ({count} requests): {escape(note)}", soft_wrap=True)
    for line in ASSUMPTIONS:
        console.print(f"  [dim]assumed: {escape(line)}[/dim]", soft_wrap=True)


def _basis(report: ReplayReport) -> str:
    prompt, inputs = report.by_basis["prompt"], report.by_basis["inputs"]
    return f"{prompt} from stored prompts, {inputs} from recorded routing inputs"


def _mean(mean: Mean) -> str:
    value = mean.value
    return "no evidence" if value is None else f"{value:.1%} (n={mean.n})"


def _mix(counts: dict[str, int]) -> str:
    return " ".join(f"{name}:{counts[name]}" for name in sorted(counts, key=_rank))


def _rank(name: str) -> int:
    return _ORDER.get(name, len(_ORDER))
