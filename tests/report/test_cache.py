"""The report's prompt-cache figures: the share of prompt tokens read from cache, per tier, and
the cache loss session switches paid (``switch_cache_cost_micro_usd`` of the records)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Console

from tierwise.analysis.report import build_report
from tierwise.analysis.report.render import render
from tierwise.ledger.store import Store

from .conftest import HAIKU, OPUS, T0, UNTIL, record


def used(fresh: int, read: int, write: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": fresh,
        "cache_read_tokens": read,
        "cache_write_5m_tokens": write,
        "cache_write_1h_tokens": 0,
        "output_tokens": 100,
    }


def test_cache_read_share_per_tier_and_the_switch_costs_paid(sqlite_store: Store) -> None:
    """Opus: 2 x (2,000 fresh + 40,000 read) = 80,000 of 84,000 read (95.2%). Haiku: one turn
    that re-wrote the prefix (2,000 + 40,000 written, nothing read), one that read it: 40,000 of
    84,000 (47.6%). All: 120,000 of 168,000 (71.4%). Paid: the one switch's 92,000 micro-dollars;
    the upgrade without a recorded cost adds nothing; one stay."""
    h = timedelta(hours=1)
    session = {"session_id": "s-1", "routed": True}
    sqlite_store.insert_many(
        [
            record("a", T0 + h, chosen_tier="opus", served_model=OPUS, **session,
                   switch_decision="new-instruction", **used(2_000, 40_000)),
            record("b", T0 + 2 * h, chosen_tier="opus", served_model=OPUS, **session,
                   switch_decision="stay-cache-loss", switch_cache_cost_micro_usd=50_000,
                   **used(2_000, 40_000)),
            record("c", T0 + 3 * h, chosen_tier="haiku", served_model=HAIKU, **session,
                   switch_decision="switch-pays", switch_cache_cost_micro_usd=92_000,
                   **used(2_000, 0, 40_000)),
            record("d", T0 + 4 * h, chosen_tier="haiku", served_model=HAIKU, **session,
                   switch_decision="upgrade", **used(2_000, 40_000)),
        ]
    )  # fmt: skip
    report = build_report(sqlite_store, since=T0, until=UNTIL)
    totals = report.as_json()["totals"]
    assert totals["cache_read_share"] == round(120_000 / 168_000, 6)
    assert (totals["session_switches"], totals["cache_stays"]) == (2, 1)
    assert totals["switch_cache_cost_usd"] == "0.092000"
    tiers = {row["tier"]: row["cache_read_share"] for row in report.as_json()["tier_mix"]}
    assert tiers == {"haiku": round(40_000 / 84_000, 6), "opus": round(80_000 / 84_000, 6)}
    console = Console(record=True, width=300)
    render(report, console)
    text = console.export_text()
    assert "71.4% of prompt tokens read from cache (haiku 47.6% · opus 95.2%)" in text
    assert "2 session switches paid $0.0920 of cache loss, 1 stayed for the cache" in text
