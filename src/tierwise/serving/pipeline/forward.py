"""Step ``forward``: send the routed request upstream and relay the answer to the caller.

Three ways to send, one per request: the cascade (try a cheap tier, validate, escalate), the
fallback chain (retries, then the tier's fallbacks), or for ``count_tokens`` a single send. The
answer is relayed as it came: a whole JSON body, an SSE stream byte for byte, or the upstream's
own error (Anthropic's body untouched, so the caller's retry logic reads its wording).
"""

from __future__ import annotations

import json
import time

from starlette.types import Send

from tierwise.core.errors import InputError
from tierwise.core.usage import Usage
from tierwise.ledger.outcome import Attempt
from tierwise.messages.body_bytes import encode_routed, last_member
from tierwise.messages.routing import Routed
from tierwise.serving.errors import ProxyError, error_json, is_anthropic_error
from tierwise.serving.exchange import Exchange
from tierwise.serving.fallback import open_upstream
from tierwise.serving.forward_cascade import as_stream, plan_proxy_cascade, run_cascade
from tierwise.serving.headers import client_headers
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.pipeline.replies import fail
from tierwise.serving.relay import relay_stream
from tierwise.serving.state import ProxyState
from tierwise.serving.upstream import (
    UpstreamError,
    UpstreamResponse,
    UpstreamStatusError,
    UpstreamTimeout,
)
from tierwise.serving.wire import JSON, send_bytes, unless_client_leaves


class Forward:
    """The last step: it always answers the caller."""

    def __init__(self, state: ProxyState) -> None:
        self.state = state

    async def __call__(self, request: ProxyRequest) -> bool:
        ex, send = request.exchange, request.send
        try:
            response = await unless_client_leaves(request.receive, lambda: self._open(request))
        except UpstreamError as exc:
            await self._relay_error(ex, send, exc)
            return True
        ex.status = response.status
        ex.upstream_latency = response.latency
        out = client_headers(response.headers) + ex.tierwise_headers()
        ex.response_started = True
        if response.body is not None:
            payload = response.body
            if ex.stream:  # a buffered cascade's checked answer, streamed as asked
                out, payload = as_stream(out, payload, ex.request_id)
            await send_bytes(send, response.status, out, payload)
            ex.ttfb = time.perf_counter() - ex.started
            if not request.count_tokens:
                ex.usage = _usage(response.body)
                if ex.capture is not None:
                    ex.capture.keep(response.body)
                self._pin(ex)
            return True
        result = await relay_stream(
            response,
            out,
            send,
            request.receive,
            started=ex.started,
            request_id=ex.request_id,
            observe=None if ex.capture is None else ex.capture.feed,
        )
        ex.ttfb, ex.usage = result.ttfb, result.tap.usage()
        ex.usage_estimated = result.tap.estimated
        if result.client_gone:
            ex.error_type = "client_disconnected"
        elif result.broken is not None:
            ex.error_type = result.broken.error_type
        elif result.tap.error_type is not None:
            ex.error_type = result.tap.error_type
        else:
            self._pin(ex)
        return True

    async def _open(self, request: ProxyRequest) -> UpstreamResponse:
        """The upstream's answer, by the cascade, the fallback chain or a single send."""
        state, ex, routed = self.state, request.exchange, request.routed
        if request.count_tokens:
            return await self._send_once(request, routed)
        cascade = plan_proxy_cascade(state.router, routed)
        if cascade is not None:
            return await run_cascade(
                cascade,
                state.upstream,
                path=request.path,
                headers=request.forward,
                raw=request.raw,
                original=request.body,
                spans=request.spans,
                api_version=request.version,
                trail=ex.trail,
                routing_calls=ex.routing_calls,
            )
        _, response = await open_upstream(
            state.router,
            state.upstream,
            routed,
            path=request.path,
            headers=request.forward,
            raw=request.raw,
            original=request.body,
            spans=request.spans,
            api_version=request.version,
            trail=ex.trail,
        )
        return response

    async def _send_once(self, request: ProxyRequest, routed: Routed) -> UpstreamResponse:
        """``count_tokens``: one send, no fallbacks (a count is not worth another model)."""
        ex = request.exchange
        ex.trail.served = routed
        content = encode_routed(routed.body, request.body, request.raw, request.spans)
        started = time.perf_counter()
        try:
            response = await self.state.upstream.send(
                "POST", request.path, headers=request.forward, content=content
            )
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

    def _pin(self, ex: Exchange) -> None:
        served = ex.trail.served
        if served is not None:
            self.state.router.record_served(served, served.model, ex.usage)

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
        await fail(ex, send, ProxyError(status, exc.error_type, f"upstream unreachable: {exc}"))


def _usage(body: bytes) -> Usage | None:
    try:
        try:
            usage = last_member(body, "usage")  # the API's layout: usage last, read from the end
        except KeyError:
            usage = json.loads(body).get("usage")
        return Usage.from_api(usage) if isinstance(usage, dict) else None
    except (ValueError, AttributeError, InputError):
        return None
