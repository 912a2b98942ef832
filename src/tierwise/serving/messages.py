"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: authenticate, read, route, forward.

One request, in order: check the proxy key (server-key mode), read the body within the size
limit, parse it, route it (``MessagesRouter.route``; the time this takes is reported in
``x-tierwise-decision-us``), send it upstream with retries and fallbacks, then relay the answer:
a whole JSON body, an SSE stream, or the upstream's error as Anthropic sent it. Whatever
happens, the caller gets an Anthropic-shaped answer with the ``x-tierwise-*`` headers, and the
outcome hook gets an ``Outcome`` once the response is finished.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from tierwise.budgets.errors import BudgetExceededError
from tierwise.budgets.guard import NO_BUDGET, user_id_of
from tierwise.budgets.wire import ERROR_TYPE as BUDGET_ERROR
from tierwise.budgets.wire import STATUS as BUDGET_STATUS
from tierwise.budgets.wire import refusal_body, refusal_headers
from tierwise.core.decision import Verdict
from tierwise.core.errors import InputError
from tierwise.core.usage import Usage
from tierwise.escalation.classifier import Classifier, reroute, wants
from tierwise.escalation.classifier.core import decode
from tierwise.ledger.outcome import Attempt, notify
from tierwise.messages.hints import Hints
from tierwise.messages.routing import Routed
from tierwise.serving.errors import (
    ProxyError,
    bad_request,
    error_json,
    is_anthropic_error,
    new_request_id,
)
from tierwise.serving.exchange import Exchange
from tierwise.serving.fallback import encode, open_upstream
from tierwise.serving.forward_cascade import (
    MESSAGES_PATH,
    as_stream,
    plan_proxy_cascade,
    run_cascade,
)
from tierwise.serving.headers import Header, client_headers, upstream_headers
from tierwise.serving.relay import relay_stream
from tierwise.serving.shadow.answer import Capture
from tierwise.serving.state import ProxyState
from tierwise.serving.token_counts.counter import COUNT_TOKENS_PATH, CountResult, TokenCounter
from tierwise.serving.token_counts.step import count_body, count_reason, has_key, with_result
from tierwise.serving.upstream import (
    UpstreamError,
    UpstreamResponse,
    UpstreamStatusError,
    UpstreamTimeout,
)
from tierwise.serving.wire import (
    JSON,
    ClientGone,
    header,
    read_body,
    send_bytes,
    send_error,
    unless_client_leaves,
)

_log = logging.getLogger("tierwise.serving")
CLIENT_CLOSED = 499  # nginx's convention for "the client went away first"


class MessagesEndpoint:
    """An ASGI app for one of the two Messages paths."""

    def __init__(self, state: ProxyState, *, count_tokens: bool = False) -> None:
        self.state = state
        self.count_tokens = count_tokens
        self.endpoint = "count_tokens" if count_tokens else "messages"
        enabled = state.router.policy.config.classifier.enabled and not count_tokens
        self.classifier = Classifier(state.router.policy) if enabled else None
        context = state.router.policy.config.context
        counting = context.count_tokens and not count_tokens
        self.counter = TokenCounter(context) if counting else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = Exchange(new_request_id())
        try:
            await self._handle(ex, scope, receive, send)
        except ClientGone:
            ex.status, ex.error_type = CLIENT_CLOSED, "client_disconnected"
        except ProxyError as error:
            await self._fail(ex, send, error)
        except Exception:
            _log.exception("unexpected error in %s (request %s)", self.endpoint, ex.request_id)
            if not ex.response_started:
                await self._fail(ex, send, ProxyError(500, "api_error", "internal proxy error"))
        finally:
            self._report(ex)

    def _report(self, ex: Exchange) -> None:
        """Hand the outcome to the hook; neither building it nor the hook may break serving."""
        try:
            outcome = ex.outcome(self.endpoint)
        except Exception:
            _log.exception("cannot build the outcome of request %s", ex.request_id)
            return
        notify(self.state.on_outcome, outcome)
        shadow = self.state.shadow
        if shadow is not None and ex.capture is not None:
            shadow.offer(outcome, ex.capture)  # queues, or drops when full: never waits

    async def _handle(self, ex: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        raw_headers: list[Header] = scope["headers"]
        keys = state.settings.client_keys
        if keys is not None:
            ex.caller = keys.authenticate(
                header(raw_headers, b"x-api-key"), header(raw_headers, b"authorization")
            )
        raw = await read_body(receive, raw_headers, state.settings.max_body_bytes)
        ex.body = body = _parse(raw)
        model = body.get("model")
        ex.requested_model = model if isinstance(model, str) else None
        ex.stream = body.get("stream") is True and not self.count_tokens
        headers = Headers(raw=raw_headers)
        version = headers.get("anthropic-version")
        hints = Hints.from_request(headers, body)
        budgets = state.budgets
        check = budgets.check(ex.caller, user_id_of(body)) if budgets is not None else NO_BUDGET
        if check.refusal is not None and not self.count_tokens:  # counting tokens is free
            await self._refuse(ex, send, body, hints, version, check.refusal)
            return
        route = state.router.route_count_tokens if self.count_tokens else state.router.route
        began = time.perf_counter_ns()
        try:
            routed = route(body, hints, api_version=version, limits=check.limits)
        except InputError as exc:
            raise bad_request(str(exc)) from None
        finally:
            ex.decision_us = (time.perf_counter_ns() - began) // 1000
        ex.routed = routed
        forward = upstream_headers(raw_headers, server_key=state.settings.server_key)
        if self.counter is not None:
            ex.routed = routed = await self._count(routed, forward, version, check.limits)
        if self.classifier is not None and wants(state.router, routed):
            ex.routed = routed = await self._classify(ex, routed, forward)
        if state.shadow is not None and not self.count_tokens and state.shadow.wants(routed):
            ex.capture = Capture(forward)  # sampled: keep the answer for the shadow judge
        query = scope.get("query_string", b"")
        path = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        try:
            response = await unless_client_leaves(
                receive, lambda: self._open(ex, routed, forward, path, raw, body, version)
            )
        except UpstreamError as exc:
            await self._relay_error(ex, send, exc)
            return
        ex.status = response.status
        ex.upstream_latency = response.latency
        out = client_headers(response.headers) + ex.tierwise_headers()
        if response.body is not None:
            ex.response_started = True
            payload = response.body
            if ex.stream:  # a buffered cascade's checked answer, streamed as asked
                out, payload = as_stream(out, payload, ex.request_id)
            await send_bytes(send, response.status, out, payload)
            ex.ttfb = time.perf_counter() - ex.started
            if not self.count_tokens:
                ex.usage = _usage(response.body)
                if ex.capture is not None:
                    ex.capture.keep(response.body)
                self._pin(ex)
            return
        ex.response_started = True
        result = await relay_stream(
            response,
            out,
            send,
            receive,
            started=ex.started,
            request_id=ex.request_id,
            observe=None if ex.capture is None else ex.capture.feed,
        )
        ex.ttfb, ex.usage = result.ttfb, result.tap.usage()
        if result.client_gone:
            ex.error_type = "client_disconnected"
        elif result.broken is not None:
            ex.error_type = result.broken.error_type
        elif result.tap.error_type is not None:
            ex.error_type = result.tap.error_type
        else:
            self._pin(ex)

    async def _open(
        self,
        ex: Exchange,
        routed: Routed,
        forward: list[Header],
        path: str,
        raw: bytes,
        body: dict[str, Any],
        version: str | None,
    ) -> UpstreamResponse:
        state = self.state
        cascade = None if self.count_tokens else plan_proxy_cascade(state.router, routed)
        if cascade is not None:
            return await run_cascade(
                cascade,
                state.upstream,
                path=path,
                headers=forward,
                raw=raw,
                original=body,
                api_version=version,
                trail=ex.trail,
                routing_calls=ex.routing_calls,
            )
        if not self.count_tokens:
            _, response = await open_upstream(
                state.router,
                state.upstream,
                routed,
                path=path,
                headers=forward,
                raw=raw,
                original=body,
                api_version=version,
                trail=ex.trail,
            )
            return response
        ex.trail.served = routed
        content = raw if routed.body == body else encode(routed.body)
        started = time.perf_counter()
        try:
            response = await state.upstream.send("POST", path, headers=forward, content=content)
        except UpstreamError as exc:
            latency = time.perf_counter() - started
            ex.trail.attempts.append(
                Attempt(routed.model, exc.status, exc.error_type, latency, exc.retries)
            )
            raise
        ex.trail.attempts.append(
            Attempt(routed.model, response.status, None, response.latency, response.retries)
        )
        return response

    async def _count(
        self,
        routed: Routed,
        forward: list[Header],
        version: str | None,
        limits: Sequence[Verdict],
    ) -> Routed:
        """Near a context threshold, decide with the API's token count instead of the estimate
        (see ``tierwise.serving.token_counts``); far from every threshold this makes no call."""
        assert self.counter is not None
        router, upstream = self.state.router, self.state.upstream
        reason = count_reason(router, routed)
        if reason is None:
            return routed
        if not has_key(forward):
            result = CountResult(None, "skipped: no API key to count with")
            return with_result(router, routed, reason, result, api_version=version, limits=limits)

        async def send(body: dict[str, Any]) -> Mapping[str, Any]:
            response = await upstream.send(
                "POST", COUNT_TOKENS_PATH, headers=forward, content=encode(body), max_retries=0
            )
            return decode(response.body or b"")

        result = await self.counter.count(count_body(routed), send)
        return with_result(router, routed, reason, result, api_version=version, limits=limits)

    async def _classify(self, ex: Exchange, routed: Routed, forward: list[Header]) -> Routed:
        """Ask the LLM classifier; its verdict (a grade, or why it passed) joins the trace."""
        assert self.classifier is not None
        assert routed.request is not None
        upstream = self.state.upstream

        async def send(body: dict[str, Any]) -> Mapping[str, Any]:
            content = encode(body)
            response = await upstream.send(
                "POST", MESSAGES_PATH, headers=forward, content=content, max_retries=0
            )
            return decode(response.body or b"")

        result = await self.classifier.classify(routed.request.text, send)
        if result.call is not None:
            ex.routing_calls.append(result.call)
        return reroute(self.state.router, routed, result.verdict)

    def _pin(self, ex: Exchange) -> None:
        served = ex.trail.served
        if served is not None:
            self.state.router.record_served(served, served.model)

    async def _relay_error(self, ex: Exchange, send: Send, exc: UpstreamError) -> None:
        """The upstream's own error, byte for byte if it is Anthropic-shaped; else ours."""
        ex.error_type = exc.error_type
        if isinstance(exc, UpstreamStatusError):
            assert exc.status is not None
            ex.status = exc.status
            relayed = client_headers(exc.headers)
            body = exc.body
            if not is_anthropic_error(body):
                relayed = [(k, v) for k, v in relayed if k != b"content-type"] + [JSON]
                message = f"the upstream answered HTTP {exc.status} without an API error body"
                body = error_json(exc.error_type, message, ex.request_id)
            if not any(k == b"request-id" for k, _ in relayed):
                relayed.append((b"request-id", ex.request_id.encode("ascii")))
            ex.response_started = True
            await send_bytes(send, exc.status, relayed + ex.tierwise_headers(), body)
            return
        status = 504 if isinstance(exc, UpstreamTimeout) else 502
        await self._fail(
            ex, send, ProxyError(status, exc.error_type, f"upstream unreachable: {exc}")
        )

    async def _refuse(
        self,
        ex: Exchange,
        send: Send,
        body: dict[str, Any],
        hints: Hints,
        version: str | None,
        refusal: BudgetExceededError,
    ) -> None:
        """A spent budget: 429 in Anthropic's shape, ``retry-after`` the seconds until the
        month resets; the request is still recorded, its reason naming the budget."""
        try:
            ex.routed = self.state.router.refused(
                body, hints, f"budget: {refusal.message}", api_version=version
            )
        except InputError as exc:
            raise bad_request(str(exc)) from None
        ex.status, ex.error_type = BUDGET_STATUS, BUDGET_ERROR
        ex.response_started = True
        request_id = ex.request_id.encode("ascii")
        headers = [JSON, (b"request-id", request_id), *refusal_headers(refusal)]
        headers += ex.tierwise_headers()
        await send_bytes(send, BUDGET_STATUS, headers, refusal_body(refusal, ex.request_id))

    async def _fail(self, ex: Exchange, send: Send, error: ProxyError) -> None:
        ex.status, ex.error_type = error.status, error.error_type
        ex.response_started = True
        reason = None if ex.routed else f"refused: {error.error_type}"
        await send_error(send, error, ex.request_id, ex.tierwise_headers(reason))


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("There was an error parsing the body of your request as JSON") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def _usage(body: bytes) -> Usage | None:
    try:
        usage = json.loads(body).get("usage")
        return Usage.from_api(usage) if isinstance(usage, dict) else None
    except (ValueError, AttributeError, InputError):
        return None
