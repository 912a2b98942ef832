"""The state of one proxied request as it moves through the handler.

The handler fills it in stage by stage; the ``x-tierwise-*`` headers of any response, success
or failure, and the final ``Outcome`` are both read from it, so they always agree.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tierwise.core.pricing import Cost
from tierwise.core.usage import Usage
from tierwise.ledger.outcome import (
    Attempt,
    Outcome,
    RoutingCall,
    baseline_model_for,
    label_attempts,
    price,
)
from tierwise.messages.routing import Routed
from tierwise.serving.fallback import Trail
from tierwise.serving.headers import Header, tierwise_headers

if TYPE_CHECKING:
    from tierwise.serving.shadow.answer import Capture


class Exchange:
    """The state of one request as it moves through the handler (for headers and outcome)."""

    __slots__ = (
        "body",
        "caller",
        "capture",
        "decision_us",
        "error_type",
        "request_id",
        "requested_model",
        "response_started",
        "routed",
        "routing_calls",
        "started",
        "status",
        "stream",
        "trail",
        "ttfb",
        "upstream_latency",
        "usage",
        "usage_estimated",
    )

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.body: dict[str, Any] | None = None
        self.caller: str | None = None
        self.requested_model: str | None = None
        self.routed: Routed | None = None
        self.trail = Trail()
        self.decision_us = 0
        self.status = 0
        self.stream = False
        self.error_type: str | None = None
        self.usage: Usage | None = None
        self.usage_estimated = False
        self.upstream_latency: float | None = None
        self.ttfb: float | None = None
        self.response_started = False
        self.routing_calls: list[RoutingCall] = []  # classifier and judge calls
        self.capture: Capture | None = None  # the answer, kept when shadow evaluation samples

    def tierwise_headers(self, reason: str | None = None) -> list[Header]:
        """``x-tierwise-*`` for whatever stage the request reached, and the request's id."""
        routed = self.trail.served or self.routed
        headers = tierwise_headers(
            model=routed.model if routed else self.requested_model,
            tier=routed.tier.value if routed and routed.tier else None,
            reason=reason or (routed.reason if routed else "not routed"),
            decision_us=self.decision_us,
            fallback=self.trail.header,
        )
        # the key of this request's decision record (``request-id`` is Anthropic's, relayed)
        headers.append((b"x-tierwise-request-id", self.request_id.encode("ascii")))
        return headers

    def outcome(self, endpoint: str) -> Outcome:
        """The ``Outcome`` of the finished request (costs computed here, after the response)."""
        served = self.trail.served
        ok = 200 <= self.status < 300
        served_model = served.model if served is not None and ok else None
        baseline = baseline_model_for(self.routed, self.requested_model)
        served_cost = price(self.usage, served_model, self.body)
        return Outcome(
            request_id=self.request_id,
            endpoint=endpoint,
            status=self.status,
            stream=self.stream,
            requested_model=self.requested_model,
            served_model=served_model,
            routed=self.routed,
            attempts=self._attempts(served_model, served_cost),
            usage=self.usage,
            cost=served_cost,
            baseline_cost=price(self.usage, baseline, self.body),
            decision_latency=self.decision_us / 1e6 if self.routed else None,
            upstream_latency=self.upstream_latency,
            ttfb=self.ttfb,
            total_latency=time.perf_counter() - self.started,
            caller=self.caller,
            error_type=self.error_type,
            routing_calls=tuple(self.routing_calls),
            usage_estimated=self.usage_estimated,
        )

    def _attempts(self, served_model: str | None, cost: Cost | None) -> tuple[Attempt, ...]:
        """The attempts, labelled; the served one carries the usage and cost read at the end."""
        attempts = list(label_attempts(self.trail.attempts))
        if served_model is not None and attempts and attempts[-1].usage is None and self.usage:
            attempts[-1] = replace(attempts[-1], usage=self.usage, cost=cost)
        return tuple(attempts)
