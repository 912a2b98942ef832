"""The three alerts the product promises to watch, with its thresholds as defaults.

Quality down more than 5 % against the baseline model, escalation above 20 % of routed
requests, routing overhead (p95) above 500 ms: each is a sign the policy routes too low or too
slowly. An alert with nothing to judge (no scores yet, nothing routed) does not fire and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tierwise.core.errors import InputError

__all__ = ["Alert", "AlertThresholds", "evaluate"]


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """When each alert fires (defaults from the product description)."""

    quality_drop: float = 0.05  # fires when quality retention < 1 - quality_drop
    escalation_rate: float = 0.20  # fires when the escalation rate is above this
    routing_overhead_ms: float = 500  # fires when routing overhead p95 is above this

    def __post_init__(self) -> None:
        if not 0 <= self.quality_drop <= 1:
            raise InputError(f"quality_drop must be between 0 and 1, got {self.quality_drop}")
        if not 0 <= self.escalation_rate <= 1:
            raise InputError(f"escalation_rate must be between 0 and 1, got {self.escalation_rate}")
        if not self.routing_overhead_ms >= 0:
            raise InputError(
                f"routing_overhead_ms must not be negative, got {self.routing_overhead_ms}"
            )


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert's state; ``value`` is ``None`` when there was nothing to measure."""

    name: str  # quality_drop | escalation_rate | routing_overhead
    firing: bool
    value: float | None
    threshold: float
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "firing": self.firing,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }


def evaluate(
    thresholds: AlertThresholds,
    *,
    quality_retention: float | None,
    escalation_rate: float | None,
    overhead_p95_ms: float | None,
) -> tuple[Alert, ...]:
    """The three alerts for these measures."""
    return (
        _quality(thresholds.quality_drop, quality_retention),
        _escalation(thresholds.escalation_rate, escalation_rate),
        _overhead(thresholds.routing_overhead_ms, overhead_p95_ms),
    )


def _quality(limit: float, retention: float | None) -> Alert:
    if retention is None:
        return Alert("quality_drop", False, None, limit, "quality: no scored requests yet")
    drop = 1 - retention
    return Alert(
        "quality_drop",
        retention < 1 - limit,
        round(drop, 6),
        limit,
        f"quality {retention:.1%} of the baseline's, down {max(drop, 0):.1%} "
        f"(alert when down more than {limit:.0%})",
    )


def _escalation(limit: float, rate: float | None) -> Alert:
    if rate is None:
        return Alert("escalation_rate", False, None, limit, "escalation rate: nothing routed")
    return Alert(
        "escalation_rate",
        rate > limit,
        round(rate, 6),
        limit,
        f"escalation rate {rate:.1%} (alert above {limit:.0%})",
    )


def _overhead(limit: float, p95_ms: float | None) -> Alert:
    if p95_ms is None:
        return Alert("routing_overhead", False, None, limit, "routing overhead: not measured")
    return Alert(
        "routing_overhead",
        p95_ms > limit,
        round(p95_ms, 3),
        limit,
        f"routing overhead p95 {p95_ms:,.2f} ms (alert above {limit:,.0f} ms)",
    )
