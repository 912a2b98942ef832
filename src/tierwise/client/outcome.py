"""What one library call reports: the same ``Outcome`` the proxy reports, built from the SDK.

``tierwise.Anthropic(record=True)`` (or ``on_outcome=...``) hands every finished ``create`` and
``stream`` to a hook, exactly as the proxy does, so the records, the report and the dashboard
treat library traffic and proxy traffic alike. This module turns what the client saw — the
routing, the SDK's ``Message`` (or the exception it raised), the cascade's report and the
timings — into that ``Outcome``. It never raises into the caller's code: a hook that fails is
logged (``outcome.notify``).

Differences from the proxy, by nature: the request id is the one Anthropic returned (else one
of tierwise's own); time to first byte is known for streams only; a stream the caller leaves
early is reported with the usage received until then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tierwise.core.errors import TierwiseError
from tierwise.core.usage import Usage
from tierwise.escalation.cascade_client import AssistReport
from tierwise.ledger.outcome import (
    Attempt,
    Outcome,
    OutcomeHook,
    baseline_model_for,
    ignore_outcome,
    notify,
    price,
)
from tierwise.messages.api_errors import error_type_for, new_request_id
from tierwise.messages.routing import Routed

_log = logging.getLogger("tierwise.client")


@dataclass(slots=True)
class Answered:
    """What the call got back: the serving model, the usage and Anthropic's request id."""

    model: str | None = None
    usage: Usage | None = None
    request_id: str | None = None

    @classmethod
    def of_message(cls, message: object) -> Answered:
        """From an SDK ``Message`` (the final one of a stream too)."""
        usage = getattr(message, "usage", None)
        return cls(
            _text(getattr(message, "model", None)),
            Usage.from_api(usage) if usage is not None else None,
            _text(getattr(message, "_request_id", None)),
        )


class StreamWatch:
    """Reads a stream's events as they pass: the model and usage from ``message_start``, the
    cumulative counts from each ``message_delta``."""

    __slots__ = ("_usage", "model", "request_id")

    def __init__(self, request_id: str | None = None) -> None:
        self.model: str | None = None
        self.request_id = request_id
        self._usage: dict[str, Any] = {}

    def observe(self, event: object) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = getattr(event, "message", None)
            self.model = _text(getattr(message, "model", None))
            self._merge(getattr(message, "usage", None))
        elif kind == "message_delta":
            self._merge(getattr(event, "usage", None))

    def _merge(self, usage: object) -> None:
        dump = getattr(usage, "model_dump", None)
        if callable(dump):
            self._usage.update({k: v for k, v in dump().items() if v is not None})

    def answered(self) -> Answered:
        usage = Usage.from_api(self._usage) if self._usage else None
        return Answered(self.model, usage, self.request_id)


@dataclass(slots=True)
class CallTimer:
    """When a call started, when routing finished and when the first byte came (streams)."""

    started: float = field(default_factory=time.perf_counter)
    decided: float | None = None
    first_byte: float | None = None

    def mark_decided(self) -> None:
        self.decided = time.perf_counter()

    def mark_first_byte(self) -> None:
        if self.first_byte is None:
            self.first_byte = time.perf_counter()


def report_call(
    hook: OutcomeHook,
    *,
    kwargs: Mapping[str, Any],
    routed: Routed | None,
    timer: CallTimer,
    answered: Answered | None = None,
    report: AssistReport | None = None,
    error: BaseException | None = None,
    stream: bool = False,
) -> None:
    """Build the call's ``Outcome`` and hand it to ``hook`` (nothing to do for the no-op hook)."""
    if hook is ignore_outcome:
        return
    try:
        outcome = call_outcome(
            kwargs=kwargs,
            routed=routed,
            timer=timer,
            answered=answered,
            report=report,
            error=error,
            stream=stream,
        )
    except (TierwiseError, ValueError, TypeError):  # an answer we cannot read: log, go on
        _log.warning("cannot build the outcome of a library call", exc_info=True)
        return
    notify(hook, outcome)


def call_outcome(
    *,
    kwargs: Mapping[str, Any],
    routed: Routed | None,
    timer: CallTimer,
    answered: Answered | None = None,
    report: AssistReport | None = None,
    error: BaseException | None = None,
    stream: bool = False,
) -> Outcome:
    """The ``Outcome`` of one SDK call (see the module doc)."""
    finished = time.perf_counter()
    requested = kwargs.get("model")
    requested_model = requested if isinstance(requested, str) else None
    served_routed = report.served if report is not None and report.served else routed
    body: Mapping[str, Any] = served_routed.body if served_routed is not None else kwargs
    decided = timer.decided if timer.decided is not None else timer.started
    upstream_latency = finished - decided
    answer = answered or Answered()
    usage = answer.usage
    status, error_type = (200, None) if error is None else _failure(error)
    served_model = answer.model if error is None else None
    if served_model is None and error is None:
        served_model = served_routed.model if served_routed is not None else requested_model
    attempts = report.attempts if report is not None else ()
    if not attempts:
        tried = served_model or (served_routed.model if served_routed else requested_model)
        cost = price(usage, served_model, body)
        attempts = (Attempt(tried or "unknown", status, error_type, upstream_latency, 0, "first",
                            usage, cost),)  # fmt: skip
    return Outcome(
        request_id=_request_id(answer, error),
        endpoint="messages",
        status=status,
        stream=stream,
        requested_model=requested_model,
        served_model=served_model,
        routed=routed,
        attempts=attempts,
        usage=usage,
        cost=price(usage, served_model, body),
        baseline_cost=price(usage, baseline_model_for(routed, requested_model), body),
        decision_latency=(decided - timer.started) if routed is not None else None,
        upstream_latency=upstream_latency,
        ttfb=(timer.first_byte - timer.started) if timer.first_byte is not None else None,
        total_latency=finished - timer.started,
        error_type=error_type,
        routing_calls=report.routing_calls if report is not None else (),
    )


def _failure(error: BaseException) -> tuple[int, str]:
    """The status and Anthropic error type of an SDK exception (transport failures included)."""
    import anthropic

    if isinstance(error, anthropic.APIStatusError):
        body = error.body if isinstance(error.body, Mapping) else {}
        inner = body.get("error") if isinstance(body.get("error"), Mapping) else {}
        kind = inner.get("type") if isinstance(inner, Mapping) else None
        return error.status_code, kind if isinstance(kind, str) else error_type_for(
            error.status_code
        )
    if isinstance(error, anthropic.APITimeoutError):
        return 504, "timeout_error"
    return 502, "api_error"  # no response: connection refused, reset, or a broken stream


def _request_id(answer: Answered, error: BaseException | None) -> str:
    """Anthropic's request id when there is one, else a fresh id of tierwise's own."""
    found = answer.request_id or _text(getattr(error, "request_id", None))
    return found or new_request_id()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
