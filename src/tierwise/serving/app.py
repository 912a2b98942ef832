"""Build the proxy's ASGI app: routes, Anthropic-shaped errors, and the upstream pool's lifetime.

Starlette does the routing (paths are matched without the query string, so Claude Code's
``/v1/messages?beta=true`` lands on ``/v1/messages``); the Messages handlers are raw ASGI apps
for control over bodies and streams. Starlette's default 404/405/500 pages are replaced: every
error a client can get from this app is Anthropic's error JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tierwise.ledger.outcome import OutcomeHook, ignore_outcome
from tierwise.messages.api_errors import error_type_for
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.errors import ProxyError, error_json, new_request_id
from tierwise.serving.messages import MessagesEndpoint
from tierwise.serving.models import model_infos, model_page
from tierwise.serving.settings import ProxySettings
from tierwise.serving.state import ProxyState
from tierwise.serving.upstream import Upstream

if TYPE_CHECKING:
    from tierwise.budgets.guard import BudgetGuard
    from tierwise.serving.metrics import ProxyMetrics
    from tierwise.serving.shadow.worker import ShadowWorker

_log = logging.getLogger("tierwise.serving")


def create_app(
    router: MessagesRouter,
    settings: ProxySettings | None = None,
    *,
    upstream: Upstream | None = None,
    on_outcome: OutcomeHook = ignore_outcome,
    metrics: ProxyMetrics | None = None,
    routes: Sequence[BaseRoute] = (),
    shadow: ShadowWorker | None = None,
    budgets: BudgetGuard | None = None,
) -> Starlette:
    """The proxy as an ASGI app. The app owns ``upstream`` and closes it on shutdown.

    With ``metrics``, the app serves them at ``/metrics`` and they count every outcome
    ``on_outcome`` gets. ``routes`` are mounted beside the API's (the command line adds the
    dashboard's, so that serving need not know the analysis layer). With ``shadow``, the app
    samples routed requests for it and runs it in the background for as long as the app runs. With
    ``budgets``, every request is checked against them, every outcome charged to them, and
    their refresher runs while the app does.
    """
    settings = settings or ProxySettings()
    extra_routes: list[Route] = []
    if metrics is not None:  # prometheus_client is imported only when metrics are on
        from tierwise.serving.metrics import MetricsEndpoint, observed

        on_outcome = observed(on_outcome, metrics)
        endpoint = MetricsEndpoint(metrics, settings.client_keys)
        extra_routes.append(Route("/metrics", endpoint.get, methods=["GET"]))
    if budgets is not None:
        on_outcome = budgets.observe(on_outcome)
    state = ProxyState(
        router, upstream or Upstream(settings.upstream), settings, on_outcome, shadow, budgets
    )
    models = _ModelsEndpoint(state)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if budgets is not None:  # reads the month's spend once before serving
            await anyio.to_thread.run_sync(budgets.start)
        try:
            async with anyio.create_task_group() as background:
                if shadow is not None:
                    background.start_soon(shadow.run, state.upstream, state.router)
                try:
                    yield
                finally:
                    background.cancel_scope.cancel()
        finally:
            if budgets is not None:
                await anyio.to_thread.run_sync(budgets.close)
            await state.upstream.aclose()

    messages, count_tokens = MessagesEndpoint(state), MessagesEndpoint(state, count_tokens=True)
    app = ProxyApp(
        fast_paths={"/v1/messages": messages, "/v1/messages/count_tokens": count_tokens},
        routes=[
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
            Route("/v1/models", models.list, methods=["GET"]),
            Route("/v1/models/{model_id:path}", models.get, methods=["GET"]),
            Route("/", _root, methods=["GET", "HEAD"]),
            Route("/healthz", _health, methods=["GET"]),
            *extra_routes,
            *routes,
        ],
        exception_handlers={
            HTTPException: _http_error,
            ProxyError: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.proxy = state
    return app


class ProxyApp(Starlette):
    """Starlette with the two Messages paths dispatched ahead of its middleware and router.

    They are nearly all of a proxy's traffic, and their endpoint is its own error layer (every
    failure becomes an Anthropic-shaped answer there), so the stack in between only costs time.
    Every other path, method and the lifespan go through Starlette as usual.
    """

    def __init__(self, *, fast_paths: Mapping[str, ASGIApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fast_paths = dict(fast_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self._fast_paths.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self  # as Starlette sets it
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class _ModelsEndpoint:
    """``/v1/models`` from the policy (computed once: the policy does not change while serving)."""

    def __init__(self, state: ProxyState) -> None:
        self._state = state
        self._infos = model_infos(state.router.policy)

    async def list(self, request: Request) -> Response:
        await self._authenticate(request)
        page = model_page(self._infos, request.query_params)
        return _json(page)

    async def get(self, request: Request) -> Response:
        await self._authenticate(request)
        model_id = request.path_params["model_id"]
        for info in self._infos:
            if info["id"] == model_id:
                return _json(info)
        raise HTTPException(404, f"model: {model_id}")

    async def _authenticate(self, request: Request) -> None:
        keys = self._state.settings.client_keys
        if keys is not None:
            keys.authenticate(
                request.headers.get("x-api-key"), request.headers.get("authorization")
            )


async def _root(request: Request) -> Response:
    """Claude Code probes ``HEAD /`` at start-up."""
    return Response("tierwise proxy", media_type="text/plain")


async def _health(request: Request) -> Response:
    return _json({"status": "ok"})


def _json(data: object) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), media_type="application/json")


def _error(status: int, error_type: str, message: str) -> Response:
    request_id = new_request_id()
    return Response(
        error_json(error_type, message, request_id),
        status,
        headers={"request-id": request_id},
        media_type="application/json",
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ProxyError):
        return _error(exc.status, exc.error_type, exc.message)
    assert isinstance(exc, HTTPException)
    response = _error(exc.status_code, error_type_for(exc.status_code), exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ProxyError):
        return await _http_error(request, exc)
    _log.error("unexpected error serving %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "api_error", "internal proxy error")
