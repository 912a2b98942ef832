"""``tierwise report``: cost per task before and after, savings, quality, escalation rate and
routing overhead from the decision store, with alerts.

    build_report(store, since=..., by="model")  → Report (``as_json()`` feeds the dashboard)
    parse_since("30d", now)                      → the datetime a ``--since`` names
    AlertThresholds(quality_drop=0.05, ...)      → when the alerts fire

Names are imported lazily, so the CLI (which registers ``report_command``) loads SQLAlchemy
only when a report actually runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Alert": "tierwise.analysis.report.alerts",
    "AlertThresholds": "tierwise.analysis.report.alerts",
    "BREAKDOWNS": "tierwise.analysis.report.aggregate",
    "Group": "tierwise.analysis.report.summary",
    "Report": "tierwise.analysis.report.summary",
    "build_report": "tierwise.analysis.report.build",
    "parse_since": "tierwise.analysis.report.period",
}

__all__ = [
    "BREAKDOWNS",
    "Alert",
    "AlertThresholds",
    "Group",
    "Report",
    "build_report",
    "parse_since",
]

if TYPE_CHECKING:
    from tierwise.analysis.report.aggregate import BREAKDOWNS
    from tierwise.analysis.report.alerts import Alert, AlertThresholds
    from tierwise.analysis.report.build import build_report
    from tierwise.analysis.report.period import parse_since
    from tierwise.analysis.report.summary import Group, Report


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.analysis.report' has no attribute {name!r}")
    return getattr(import_module(module), name)
