"""The cascade in the proxy: send, check, judge, climb; every attempt and call recorded.

Each rung goes out through ``open_upstream``, so capacity failures still fall back within a
rung. An answer that fails its checks is kept until a better one arrives: if the next rung
cannot answer at all, the caller gets the last answer rather than an error.

Streaming requests climb only with ``[escalation] stream = "buffer"``: each rung is asked for
as one JSON answer (``stream`` dropped), which keeps the checks, the judge and the usage exactly
as for JSON requests, and the served answer is then sent as the SSE stream the caller asked for
(``tierwise.messages.sse``). The price: the caller's first byte waits for the whole cascade.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from tierwise.core.usage import Usage
from tierwise.escalation.cascade import Cascade, plan_cascade
from tierwise.escalation.classifier.core import decode
from tierwise.escalation.validators import CheckResult, read_judgement
from tierwise.escalation.validators.judge import unavailable
from tierwise.ledger.outcome import RoutingCall, price
from tierwise.messages.body_bytes import BodySpans
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.messages.sse import message_stream
from tierwise.serving.errors import error_json
from tierwise.serving.fallback import Trail, encode, open_upstream
from tierwise.serving.headers import Header
from tierwise.serving.upstream import Upstream, UpstreamError, UpstreamResponse

MESSAGES_PATH = "/v1/messages"
EVENT_STREAM = (b"content-type", b"text/event-stream; charset=utf-8")


def plan_proxy_cascade(router: MessagesRouter, routed: Routed) -> Cascade | None:
    """The cascade for a proxied request, or ``None`` to send it once.

    A streaming request is buffered only in ``"buffer"`` mode and only when buffering can
    change the answer: there is a check to run and a rung to climb. Otherwise it is relayed
    as generated (holding back a stream that can never be escalated would only add latency).
    """
    if not routed.stream:
        return plan_cascade(router, routed)
    if router.policy.config.escalation.stream != "buffer":
        return None
    cascade = plan_cascade(router, buffered(routed))
    if cascade is None or not cascade.ladder:
        return None
    checks = cascade.checks
    return cascade if checks.local or checks.judge is not None else None


def buffered(routed: Routed) -> Routed:
    """``routed`` asked for as one JSON answer, for this rung and every rung above it."""
    body = {k: v for k, v in routed.body.items() if k != "stream"}
    source = {k: v for k, v in routed.source_body.items() if k != "stream"}
    return dataclasses.replace(routed, body=body, source_body=source, stream=False)


def as_stream(headers: list[Header], body: bytes, request_id: str) -> tuple[list[Header], bytes]:
    """A buffered cascade's JSON answer as the SSE stream the caller asked for.

    A body that is not a message (never seen from the API) becomes an ``error`` event, which
    the SDK raises, rather than a stream that silently lacks the answer.
    """
    out = [(k, v) for k, v in headers if k != b"content-type"] + [EVENT_STREAM]
    try:
        message = decode(body)
    except ValueError:
        error = error_json("api_error", "the upstream answer is not a message", request_id)
        return out, b"event: error\ndata: " + error + b"\n\n"
    return out, message_stream(message)


async def run_cascade(
    cascade: Cascade,
    upstream: Upstream,
    *,
    path: str,
    headers: Sequence[Header],
    raw: bytes,
    original: Mapping[str, Any],
    api_version: str | None,
    trail: Trail,
    routing_calls: list[RoutingCall],
    spans: BodySpans | None = None,
) -> UpstreamResponse:
    """The response to serve: the first that passes its checks, else the last one received.

    ``current`` must not stream (a buffered stream is asked for as JSON: ``buffered``).
    """
    router = cascade.router
    best: tuple[Routed, UpstreamResponse] | None = None
    while True:
        first = len(trail.attempts)
        try:
            served, response = await open_upstream(
                router,
                upstream,
                cascade.current,
                path=path,
                headers=headers,
                raw=raw,
                original=original,
                spans=spans,
                api_version=api_version,
                trail=trail,
            )
        except UpstreamError:
            _label(trail, first, cascade)
            if best is None:
                raise
            trail.served = best[0]  # the higher rung could not answer: serve the last answer
            return best[1]
        cascade.current = served
        best = served, response
        try:
            answer = decode(response.body or b"")
        except ValueError:
            _label(trail, first, cascade)
            return response
        judged = await _judge(cascade, answer, upstream, headers, routing_calls)
        assessment = cascade.assess(answer, judged)
        _label(trail, first, cascade, answer, assessment.as_dicts(), original)
        if cascade.escalate(assessment) is None:
            return response
        trail.steps.append(cascade.steps[-1])


def _label(
    trail: Trail,
    first: int,
    cascade: Cascade,
    answer: Mapping[str, Any] | None = None,
    verdicts: tuple[dict[str, Any], ...] = (),
    body: Mapping[str, Any] | None = None,
) -> None:
    """Mark the rung's first attempt with its kind; give its answered attempt usage, cost and
    verdicts (later attempts of the rung are capacity fallbacks, labelled as such later)."""
    attempts = trail.attempts
    if first < len(attempts):
        attempts[first] = dataclasses.replace(attempts[first], kind=cascade.kind)
    if answer is None or not attempts:
        return
    last = attempts[-1]
    usage = _usage(answer)
    attempts[-1] = dataclasses.replace(
        last, usage=usage, cost=price(usage, last.model, body), verdicts=verdicts
    )


async def _judge(
    cascade: Cascade,
    answer: Mapping[str, Any],
    upstream: Upstream,
    headers: Sequence[Header],
    routing_calls: list[RoutingCall],
) -> CheckResult | None:
    body = cascade.judge_request(answer)
    judge = cascade.checks.judge
    if body is None or judge is None:
        return None
    timeout = cascade.router.policy.config.escalation.judge_timeout
    started = time.perf_counter()
    try:
        with anyio.fail_after(timeout):
            response = await upstream.send(
                "POST", MESSAGES_PATH, headers=headers, content=encode(body), max_retries=0
            )
        verdict = decode(response.body or b"")
    except (TimeoutError, UpstreamError, ValueError) as exc:
        why = f"{type(exc).__name__}"
        routing_calls.append(
            RoutingCall("judge", judge.model, time.perf_counter() - started, error=why)
        )
        return unavailable(why)
    usage = _usage(verdict)
    latency = time.perf_counter() - started
    routing_calls.append(
        RoutingCall("judge", judge.model, latency, usage, price(usage, judge.model))
    )
    return read_judgement(judge, verdict)


def _usage(answer: Mapping[str, Any]) -> Usage | None:
    usage = answer.get("usage")
    try:
        return Usage.from_api(usage) if isinstance(usage, Mapping) else None
    except ValueError:
        return None
