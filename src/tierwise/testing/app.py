"""The fake Anthropic API as a Starlette app: routes, auth, recording, and scripted answers.

Every request is recorded first, then authenticated, validated, and answered by the next
behaviour in the script. Every response carries a ``request-id`` header; every error has
Anthropic's error body.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tierwise.testing.behaviours import Behaviour, Drop, Fail, Reply, StreamError, error_message
from tierwise.testing.config import FakeConfig
from tierwise.testing.model_list import model_info, model_page
from tierwise.testing.recording import RecordedRequest
from tierwise.testing.replies import Generated, generate, message_json
from tierwise.testing.stream import message_events, sse_body, with_injections
from tierwise.testing.tokens import input_tokens
from tierwise.testing.validation import check_count_tokens_body, check_messages_body, parse_body
from tierwise.testing.wire import (
    ApiError,
    dumps,
    error_body,
    error_response,
    new_id,
    ratelimit_headers,
)

Handler = Callable[[Request, bytes, str], Awaitable[Response]]
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def fake_anthropic_app(config: FakeConfig | None = None) -> Starlette:
    """A Starlette app that speaks the Messages API; ``app.state.config`` is its ``FakeConfig``."""
    api = _FakeApi(config or FakeConfig())
    app = Starlette(
        routes=[
            Route("/v1/messages", api.endpoint(api.messages), methods=["POST"]),
            Route("/v1/messages/count_tokens", api.endpoint(api.count_tokens), methods=["POST"]),
            Route("/v1/models", api.endpoint(api.list_models), methods=["GET"]),
            Route("/v1/models/{model_id:path}", api.endpoint(api.get_model), methods=["GET"]),
            Route("/", api.endpoint(api.root, authenticate=False), methods=["GET", "HEAD"]),
            Route("/{path:path}", api.endpoint(api.not_found), methods=ALL_METHODS),
        ]
    )
    app.state.config = api.config
    return app


class _FakeApi:
    """The endpoints, sharing one config and a request counter for the rate-limit headers."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self._served = itertools.count(1)

    def endpoint(
        self, handler: Handler, *, authenticate: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` with recording, auth, the ``request-id`` header and error bodies."""

        async def run(request: Request) -> Response:
            request_id = new_id("req")
            raw = await request.body()
            self._record(request, raw, request_id)
            try:
                if authenticate:
                    self._authenticate(request)
                response = await handler(request, raw, request_id)
            except ApiError as error:
                response = error_response(error, request_id)
            response.headers.setdefault("request-id", request_id)
            return response

        return run

    async def messages(self, request: Request, raw: bytes, request_id: str) -> Response:
        body = parse_body(raw)
        check_messages_body(body, request.headers.get("anthropic-version"))
        behaviour = self.config.script.next_for(body["model"])
        return await self._answer(behaviour, body, request_id)

    async def count_tokens(self, request: Request, raw: bytes, request_id: str) -> Response:
        body = parse_body(raw)
        check_count_tokens_body(body, request.headers.get("anthropic-version"))
        count = input_tokens(body)
        return Response(
            dumps({"input_tokens": count}),
            headers=self._limits(count),
            media_type="application/json",
        )

    async def list_models(self, request: Request, raw: bytes, request_id: str) -> Response:
        page = model_page(list(self.config.models), dict(request.query_params))
        return Response(dumps(page), media_type="application/json")

    async def get_model(self, request: Request, raw: bytes, request_id: str) -> Response:
        model_id = request.path_params["model_id"]
        if model_id not in self.config.models:
            raise ApiError(404, "not_found_error", f"model: {model_id}")
        return Response(dumps(model_info(model_id)), media_type="application/json")

    async def root(self, request: Request, raw: bytes, request_id: str) -> Response:
        return Response("ok", media_type="text/plain")  # Claude Code probes HEAD / at startup

    async def not_found(self, request: Request, raw: bytes, request_id: str) -> Response:
        raise ApiError(404, "not_found_error", "Not found")

    async def _answer(
        self, behaviour: Behaviour, body: dict[str, Any], request_id: str
    ) -> Response:
        streaming = bool(body.get("stream"))
        if isinstance(behaviour, StreamError) and not streaming:
            behaviour = behaviour.as_fail()
        if isinstance(behaviour, Fail):
            await anyio.sleep(behaviour.latency)
            return _fail_response(behaviour, request_id)
        reply = behaviour if isinstance(behaviour, Reply) else behaviour.reply
        await anyio.sleep(reply.latency)
        generated = generate(reply, body)
        headers = self._limits(generated.usage["input_tokens"])
        if not streaming:
            content = dumps(message_json(generated, body["model"], new_id("msg")))
            if isinstance(behaviour, Drop):
                headers["content-length"] = str(len(content.encode()))
                return StreamingResponse(
                    sse_body([], 0, drop=True), 200, headers, "application/json"
                )
            return Response(content, 200, headers, media_type="application/json")
        return self._stream(behaviour, generated, body["model"], request_id, headers)

    def _stream(
        self,
        behaviour: Reply | StreamError | Drop,
        generated: Generated,
        model: str,
        request_id: str,
        headers: dict[str, str],
    ) -> Response:
        reply = behaviour if isinstance(behaviour, Reply) else behaviour.reply
        events = with_injections(message_events(generated, model, new_id("msg")), reply.inject)
        if isinstance(behaviour, StreamError):
            message = behaviour.message or error_message(behaviour.error_type)
            error = error_body(behaviour.error_type, message, request_id)
            events = [*events[: behaviour.after_events], ("error", error)]
        elif isinstance(behaviour, Drop):
            events = events[: behaviour.after_events]
        delay = self.config.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        headers["cache-control"] = "no-cache"
        body = sse_body(events, delay, drop=isinstance(behaviour, Drop))
        return StreamingResponse(body, 200, headers, media_type="text/event-stream")

    def _authenticate(self, request: Request) -> None:
        keys = self.config.api_keys
        if keys is not None:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if request.headers.get("x-api-key") not in keys and bearer not in keys:
                raise ApiError(401, "authentication_error", "invalid x-api-key")
        if self.config.require_version and "anthropic-version" not in request.headers:
            raise ApiError(400, "invalid_request_error", "anthropic-version: header is required")

    def _limits(self, tokens: int) -> dict[str, str]:
        config = self.config
        used = next(self._served) % config.requests_limit
        return ratelimit_headers(config.requests_limit, used, config.tokens_limit, tokens)

    def _record(self, request: Request, raw: bytes, request_id: str) -> None:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.config.log.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                headers=headers,
                body=body,
                raw_body=raw,
                time=time.time(),
                request_id=request_id,
            )
        )


def _fail_response(fail: Fail, request_id: str) -> Response:
    if fail.body is not None:
        return Response(fail.body, fail.status, dict(fail.headers), media_type="text/html")
    message = fail.message or error_message(fail.resolved_type)
    return error_response(
        ApiError(fail.status, fail.resolved_type, message, fail.headers), request_id
    )
