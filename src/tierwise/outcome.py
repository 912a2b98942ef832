"""What happened to one request, after the fact: attempts, usage, cost, latencies, status.

The proxy builds one ``Outcome`` per request once the response is finished and hands it to an
``on_outcome`` hook (a no-op by default; the recorder plugs in there). The hook is called on
the event loop, so it must not do I/O: queue the outcome and return.

Cost is priced on the model that served the request; the baseline on the decision's
``baseline_model`` (the model asked for, or the top tier for an alias) or, when the request
passed through unrouted, on the model asked for. A model or price the catalog does not know
leaves the cost ``None`` instead of failing the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tierwise.errors import PricingError
from tierwise.pricing import Cost, cost
from tierwise.usage import Usage

if TYPE_CHECKING:
    from tierwise.decision import Decision
    from tierwise.dispatch import Routed

_log = logging.getLogger("tierwise.outcome")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model tried for a request, after its retries.

    ``status`` is the last HTTP status from that model (``None`` if no response arrived);
    ``error_type`` is Anthropic's error type (or ``timeout_error`` / ``api_error`` for
    transport failures), ``None`` on success; ``latency`` is seconds from the first try to the
    final status line, retries and their waits included.
    """

    model: str
    status: int | None
    error_type: str | None
    latency: float
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished request. Latencies are seconds; ``None`` when the step never happened.

    ``decision_latency`` is routing alone; ``upstream_latency`` from the first upstream attempt
    to the served response's status line; ``ttfb`` from the request's arrival to the first body
    byte sent back. ``caller`` is the name of the proxy key used (never the key itself).
    ``error_type`` is set for any failure, including an ``event: error`` inside a 200 stream.
    """

    request_id: str
    endpoint: str
    status: int
    stream: bool
    requested_model: str | None
    served_model: str | None
    routed: Routed | None
    attempts: tuple[Attempt, ...]
    usage: Usage | None
    cost: Cost | None
    baseline_cost: Cost | None
    decision_latency: float | None
    upstream_latency: float | None
    ttfb: float | None
    total_latency: float
    caller: str | None = None
    error_type: str | None = None

    @property
    def decision(self) -> Decision | None:
        """The routing decision, ``None`` for a request that passed through unrouted."""
        return self.routed.decision if self.routed is not None else None

    @property
    def baseline_model(self) -> str | None:
        """The counterfactual model the savings are measured against."""
        return baseline_model_for(self.routed, self.requested_model)

    @property
    def fell_back(self) -> bool:
        """Whether a model other than the first one tried served the request."""
        return len({attempt.model for attempt in self.attempts}) > 1


OutcomeHook = Callable[[Outcome], None]


def ignore_outcome(outcome: Outcome) -> None:
    """The default hook: do nothing."""


def baseline_model_for(routed: Routed | None, requested_model: str | None) -> str | None:
    """The decision's baseline, else (pass-through, or not routed at all) the model asked for."""
    if routed is None:
        return requested_model
    decision = routed.decision
    return decision.baseline_model if decision is not None else routed.requested_model


def price(
    usage: Usage | None, model: str | None, body: Mapping[str, Any] | None = None
) -> Cost | None:
    """The cost of ``usage`` on ``model`` with the request's ``speed`` and ``inference_geo``;
    ``None`` when there is no usage or the catalog cannot price it."""
    if usage is None or model is None:
        return None
    speed = body.get("speed") if body is not None else None
    geo = body.get("inference_geo") if body is not None else None
    try:
        return cost(
            usage,
            model,
            speed=speed if isinstance(speed, str) else None,
            inference_geo=geo if isinstance(geo, str) else None,
        )
    except PricingError:
        return None


def notify(hook: OutcomeHook, outcome: Outcome) -> None:
    """Call ``hook``; a failing hook is logged, never allowed to break the response."""
    try:
        hook(outcome)
    except Exception:
        _log.exception("on_outcome hook failed for request %s", outcome.request_id)
