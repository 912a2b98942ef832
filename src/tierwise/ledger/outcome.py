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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from tierwise.core.errors import PricingError
from tierwise.core.pricing import Cost, cost
from tierwise.core.usage import Usage

if TYPE_CHECKING:
    from tierwise.core.decision import Decision
    from tierwise.messages.routing import Routed

_log = logging.getLogger("tierwise.ledger.outcome")

AttemptKind = Literal["first", "retry", "fallback", "escalation"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model tried for a request, after its retries.

    ``status`` is the last HTTP status from that model (``None`` if no response arrived);
    ``error_type`` is Anthropic's error type (or ``timeout_error`` / ``api_error`` for
    transport failures), ``None`` on success; ``latency`` is seconds from the first try to the
    final status line, retries and their waits included. ``kind`` says why it was made:
    ``"first"``, ``"fallback"`` (the one before failed for capacity), ``"escalation"`` (the
    one before answered but failed validation) or ``"retry"`` (the same model asked again).
    """

    model: str
    status: int | None
    error_type: str | None
    latency: float
    retries: int = 0
    kind: AttemptKind = "first"
    usage: Usage | None = None  # set once the answer was read (always for a served attempt)
    cost: Cost | None = None  # ``usage`` priced on ``model``
    verdicts: tuple[Mapping[str, Any], ...] = ()  # validators' verdicts on this answer

    @property
    def ok(self) -> bool:
        """Whether the model answered 2xx (its answer may still have failed validation)."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class RoutingCall:
    """A model call made to route or judge, not to answer: the classifier or a judge.

    Its cost is part of the request's cost and is reported apart as the routing overhead.
    ``error`` says why it gave no usable answer (``None``: it did).
    """

    purpose: Literal["classifier", "judge"]
    model: str
    latency: float
    usage: Usage | None = None
    cost: Cost | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished request. Latencies are seconds; ``None`` when the step never happened.

    ``decision_latency`` is routing alone; ``upstream_latency`` from the first upstream attempt
    to the served response's status line; ``ttfb`` from the request's arrival to the first body
    byte sent back. ``caller`` is the name of the proxy key used (never the key itself).
    ``error_type`` is set for any failure, including an ``event: error`` inside a 200 stream.
    ``cost`` is the served answer's; ``total_cost`` adds the earlier attempts and the routing
    calls (classifier, judges): what the request really spent, and what savings are net of.
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
    routing_calls: tuple[RoutingCall, ...] = ()
    usage_estimated: bool = False  # a stream cut short: output counted from the deltas relayed

    @property
    def routing_cost(self) -> Decimal:
        """What the classifier and judge calls cost (zero when there were none)."""
        return sum((c.cost.total for c in self.routing_calls if c.cost is not None), Decimal(0))

    @property
    def total_cost(self) -> Decimal | None:
        """Everything the request spent: the served answer, every earlier attempt that was
        billed (answers that failed validation), and the routing calls. ``None`` when the
        served answer cannot be priced."""
        if self.cost is None:
            return None
        earlier = self.attempts[:-1] if self.served_model is not None else self.attempts
        spent = sum((a.cost.total for a in earlier if a.cost is not None), Decimal(0))
        return self.cost.total + spent + self.routing_cost

    @property
    def escalated(self) -> bool:
        """Whether an answer failed validation and a higher tier was tried."""
        return any(attempt.kind == "escalation" for attempt in self.attempts)

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
        """Whether another model was tried because the one before failed for capacity reasons.
        An escalation (the answer before failed validation) or a retry is not a fallback: the
        report and the metrics count escalations on their own."""
        return any(
            attempt.kind == "fallback" or (attempt.kind == "first" and attempt.model != prev.model)
            for prev, attempt in zip(self.attempts, self.attempts[1:], strict=False)
        )


OutcomeHook = Callable[[Outcome], None]


def label_attempts(attempts: Sequence[Attempt]) -> tuple[Attempt, ...]:
    """``attempts`` with every unlabelled one after the first marked ``"fallback"``: a model
    tried because the one before failed for capacity reasons (escalations are labelled where
    they happen)."""
    return tuple(
        replace(attempt, kind="fallback") if index and attempt.kind == "first" else attempt
        for index, attempt in enumerate(attempts)
    )


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
