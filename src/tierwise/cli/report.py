"""``tierwise report``: the typer command. Imports nothing heavy until it runs.

``cli.py`` registers ``report_command``, so this module is imported by every ``tierwise``
command: SQLAlchemy, the store and the dashboard are imported inside the function.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tierwise.cli.options import DbOption, SinceOption, existing_store
from tierwise.core.errors import InputError

__all__ = ["report_command"]

ALL = "all"  # --since all: every record, however old


def report_command(
    since: SinceOption = "30d",
    until: Annotated[
        str | None,
        typer.Option(help="End of the period (same forms as --since; default: now)."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Break down by model, tier, task-type, domain, user-tier, day or caller."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the dashboard page to this file.")
    ] = None,
    db: DbOption = None,
    alert_quality_drop: Annotated[
        float, typer.Option(help="Alert when quality is down more than this share (0-1).")
    ] = 0.05,
    alert_escalation_rate: Annotated[
        float, typer.Option(help="Alert when more than this share of routed requests escalate.")
    ] = 0.20,
    alert_overhead_ms: Annotated[
        float, typer.Option(help="Alert when routing overhead p95 is above this many ms.")
    ] = 500.0,
) -> None:
    """Cost per task before and after, savings, quality, escalations, overhead, and alerts."""
    from rich.console import Console

    from tierwise.analysis.report import AlertThresholds, build_report, parse_since
    from tierwise.analysis.report.render import render
    from tierwise.ledger.store import Store

    now = datetime.now(UTC)
    start = None if since.strip().lower() == ALL else parse_since(since, now, option="--since")
    end = parse_since(until, now, option="--until") if until is not None else now
    _check_thresholds(alert_quality_drop, alert_escalation_rate, alert_overhead_ms)
    thresholds = AlertThresholds(alert_quality_drop, alert_escalation_rate, alert_overhead_ms)
    with Store(existing_store(db), environ=os.environ) as store:
        report = build_report(store, since=start, until=end, by=by, thresholds=thresholds)
    data = report.as_json()
    if html is not None:
        from tierwise.analysis.dashboard import static_page

        try:
            html.write_text(static_page(data), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--html: cannot write {html}: {exc.strerror}") from None
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    render(report, Console(highlight=False))
    if html is not None:
        print(f"dashboard written to {html}")


def _check_thresholds(quality_drop: float, escalation_rate: float, overhead_ms: float) -> None:
    for flag, value, highest in (
        ("--alert-quality-drop", quality_drop, 1.0),
        ("--alert-escalation-rate", escalation_rate, 1.0),
        ("--alert-overhead-ms", overhead_ms, math.inf),
    ):
        if not 0 <= value <= highest:
            limit = "not be negative" if highest == math.inf else f"be between 0 and {highest:g}"
            raise InputError(f"{flag} must {limit}, got {value:g}")
