"""``Report``: what ``build_report`` found, and its JSON form for ``--json`` and the dashboard.

Money crosses the JSON boundary as decimal strings in USD (six places: the store's exact
micro-dollars; projections in cents), so nothing is rounded in transit; shares and rates are
floats in [0, 1]; ``null`` marks a figure with no data behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tierwise.analysis.report.aggregate import Measures
from tierwise.analysis.report.alerts import Alert
from tierwise.analysis.report.money import usd
from tierwise.analysis.report.percentiles import Percentiles
from tierwise.analysis.report.period import span_days
from tierwise.analysis.report.shadow import ShadowSummary, retention
from tierwise.core.tiers import Tier
from tierwise.ledger.records import DecisionRecord

__all__ = ["Group", "Report", "usd"]

MONTH_DAYS = 30
_TIER_NAMES = frozenset(tier.value for tier in Tier)


@dataclass(frozen=True, slots=True)
class Group:
    """The measures of one value of a breakdown (``key`` ``None``: records without one)."""

    key: str | None
    measures: Measures

    def as_json(self) -> dict[str, Any]:
        m = self.measures
        return {
            "key": self.key,
            "requests": m.requests,
            "cost_usd": usd(m.cost_micro),
            "baseline_cost_usd": usd(m.baseline_micro),
            "savings_usd": usd(m.savings_micro),
            "savings_pct": _share(m.savings_pct),
            "cost_per_task_usd": usd(m.cost_per_task_micro),
            "baseline_cost_per_task_usd": usd(m.baseline_cost_per_task_micro),
            "escalation_rate": _share(m.escalation_rate),
            "quality_mean": _share(m.quality_mean),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """One report over ``since <= time < until``. ``store`` is where it was read (a path or a
    redacted URL; not part of the JSON)."""

    generated_at: datetime
    since: datetime | None
    until: datetime
    store: str
    totals: Measures
    overhead: Percentiles  # routing decision latency
    upstream: Percentiles
    covered_days: float | None  # from the later of since and the first record, to until
    by: str | None
    groups: tuple[Group, ...]
    daily: tuple[Group, ...]
    tier_mix: tuple[Group, ...]
    task_types: tuple[Group, ...]
    recent: tuple[DecisionRecord, ...]  # newest first
    alerts: tuple[Alert, ...]
    shadow: ShadowSummary | None = None  # shadow evaluations (None: the store has no table)

    @property
    def empty(self) -> bool:
        return self.totals.requests == 0

    @property
    def days(self) -> float | None:
        """The period's length in days (from the first record when there is no ``since``)."""
        return span_days(self.since if self.since is not None else self.totals.first, self.until)

    @property
    def quality_retention(self) -> float | None:
        """Mean quality score over scored requests: the baseline model's answer scores 1.0."""
        return self.totals.quality_mean

    def projected_monthly_micro(self, *, baseline: bool = False) -> Decimal | None:
        """Spend over a 30-day month at the rate of the covered days, in micro-dollars."""
        total = self.totals.baseline_micro if baseline else self.totals.cost_micro
        if total is None or self.covered_days is None:
            return None
        return Decimal(total) * MONTH_DAYS / Decimal(repr(self.covered_days))

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(alert for alert in self.alerts if alert.firing)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (the shape the dashboard reads)."""
        m = self.totals
        days = self.days
        return {
            "generated_at": self.generated_at.isoformat(),
            "period": {
                "since": None if self.since is None else self.since.isoformat(),
                "until": self.until.isoformat(),
                "days": None if days is None else round(days, 6),
            },
            "totals": {
                "requests": m.requests,
                "routed": m.routed,
                "errors": m.errors,
                "cost_usd": usd(m.cost_micro),
                "baseline_cost_usd": usd(m.baseline_micro),
                "savings_usd": usd(m.savings_micro),
                "savings_pct": _share(m.savings_pct),
                "cost_per_task_usd": usd(m.cost_per_task_micro),
                "baseline_cost_per_task_usd": usd(m.baseline_cost_per_task_micro),
                "quality_scored": m.quality_scored,
                "quality_mean": _share(m.quality_mean),
                "quality_retention": _share(self.quality_retention),
                "escalations": m.escalations,
                "escalation_rate": _share(m.escalation_rate),
                "fallbacks": m.fallbacks,
                "fallback_rate": _share(m.fallback_rate),
                "overhead_ms": self.overhead.as_json(),
                "upstream_ms": self.upstream.as_json(),
                "projected_monthly_usd": usd(self.projected_monthly_micro(), cents=True),
                "projected_monthly_baseline_usd": usd(
                    self.projected_monthly_micro(baseline=True), cents=True
                ),
                "cache_read_share": _share(m.cache_read_share),
                "session_switches": m.switches,
                "switch_cache_cost_usd": usd(m.switch_cache_micro),
                "cache_stays": m.cache_stays,
            },
            "by": self.by,
            "groups": [group.as_json() for group in self.groups],
            "daily": [
                {
                    "day": group.key,
                    "requests": group.measures.requests,
                    "cost_usd": usd(group.measures.cost_micro),
                    "baseline_cost_usd": usd(group.measures.baseline_micro),
                    "savings_usd": usd(group.measures.savings_micro),
                }
                for group in self.daily
            ],
            "tier_mix": [
                {
                    "tier": group.key,
                    "requests": group.measures.requests,
                    "share": share,
                    "cache_read_share": _share(group.measures.cache_read_share),
                }
                for group, share in self.tier_shares()
            ],
            "task_types": [
                {
                    "task_type": group.key,
                    "requests": group.measures.requests,
                    "cost_usd": usd(group.measures.cost_micro),
                    "savings_usd": usd(group.measures.savings_micro),
                    **_retention(group.measures),
                }
                for group in self.task_types
            ],
            "recent": [_recent(record) for record in self.recent],
            "alerts": [alert.as_json() for alert in self.alerts],
            "shadow": None if self.shadow is None else self.shadow.as_json(),
        }

    def tier_shares(self) -> list[tuple[Group, float]]:
        """Each chosen tier and its share of the requests that have a tier, cheapest first."""
        total = sum(group.measures.requests for group in self.tier_mix)
        ordered = sorted(self.tier_mix, key=lambda group: _tier_rank(group.key))
        return [(group, round(group.measures.requests / total, 6)) for group in ordered]


def _recent(record: DecisionRecord) -> dict[str, Any]:
    return {
        "time": record.time.isoformat(),
        "request_id": record.request_id,
        "requested_model": record.requested_model,
        "chosen_model": record.chosen_model,
        "chosen_tier": record.chosen_tier,
        "served_model": record.served_model,
        "task_type": record.task_type,
        "reason": record.reason,
        "status": record.status,
        "cost_usd": usd(record.cost_micro_usd),
        "baseline_cost_usd": usd(record.baseline_cost_micro_usd),
        "total_ms": None if record.total_latency is None else round(record.total_latency * 1000, 3),
    }


def _retention(measures: Measures) -> dict[str, Any]:
    """A task type's quality retention (shadow scores) and its Wilson interval."""
    interval = retention(measures)
    return {
        "quality_scored": measures.quality_scored,
        "quality_retention": None if interval is None else round(interval.value, 6),
        "quality_interval": None if interval is None else interval.as_json(),
    }


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _tier_rank(name: str | None) -> tuple[int, str]:
    if name in _TIER_NAMES:
        return Tier(name).rank, ""
    return len(Tier), name or ""
