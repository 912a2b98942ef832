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
    "Alert": "tierwise.report.alerts",
    "AlertThresholds": "tierwise.report.alerts",
    "BREAKDOWNS": "tierwise.report.aggregate",
    "Group": "tierwise.report.summary",
    "Report": "tierwise.report.summary",
    "build_report": "tierwise.report.build",
    "parse_since": "tierwise.report.period",
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
    from tierwise.report.aggregate import BREAKDOWNS
    from tierwise.report.alerts import Alert, AlertThresholds
    from tierwise.report.build import build_report
    from tierwise.report.period import parse_since
    from tierwise.report.summary import Group, Report


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.report' has no attribute {name!r}")
    return getattr(import_module(module), name)
