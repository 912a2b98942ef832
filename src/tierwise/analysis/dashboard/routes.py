"""The dashboard's routes on the proxy: the page, its two assets, and its JSON API.

    GET  /dashboard                  the page (``?key=`` logs a browser in, see ``access``)
    GET  /dashboard/static/{name}    the stylesheet and script (nothing else is served)
    GET  /dashboard/api/report       ``build_report(store, ...).as_json()``
    POST /dashboard/api/recommend    the Model Selector: ``recommend(...).as_dict()``

Errors are ``ProxyError``s, so the proxy's handlers answer them in Anthropic's JSON shape.
Reports and recommendations run in a worker thread: the store is synchronous, and neither may
hold up the requests the proxy is relaying.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tierwise.analysis.dashboard.access import COOKIE, DashboardAccess
from tierwise.analysis.dashboard.assets import SERVED, asset
from tierwise.analysis.dashboard.page import live_page
from tierwise.analysis.dashboard.params import (
    DEFAULT_BY,
    DEFAULT_SINCE,
    MAX_TASK_BYTES,
    ReportQuery,
    recommend_request,
)
from tierwise.core.errors import (
    InputError,
    StoreError,
    TierwiseError,
    UnknownTaskTypeError,
    UnknownTierError,
)
from tierwise.core.request import RouteRequest
from tierwise.learned.pipeline import Router
from tierwise.serving.auth import ClientKeys
from tierwise.serving.errors import ProxyError, bad_request

if TYPE_CHECKING:
    from tierwise.ledger.store import Store

# The page's script and styles come from this origin only; it may fetch only its own API.
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
# The period choices the page offers (the API takes any ``--since`` text).
PAGE_SINCE = ("24h", "7d", "30d", "90d")
PAGE_BY = ("tier", "model", "task-type", "domain", "user-tier", "caller", "day")


def dashboard_routes(
    store: Store | None, router: Router, client_keys: ClientKeys | None
) -> list[Route]:
    """The routes to add to the proxy's app. ``store`` is ``None`` when recording is off."""
    dashboard = _Dashboard(store, router, DashboardAccess(client_keys))
    return [
        Route("/dashboard", dashboard.page, methods=["GET"]),
        Route("/dashboard/static/{name}", dashboard.static, methods=["GET"]),
        Route("/dashboard/api/report", dashboard.report, methods=["GET"]),
        Route("/dashboard/api/recommend", dashboard.recommend, methods=["POST"]),
    ]


class _Dashboard:
    def __init__(self, store: Store | None, router: Router, access: DashboardAccess) -> None:
        self._store = store
        self._router = router
        self._access = access
        self._task_types = sorted(router.policy.config.routes)

    async def page(self, request: Request) -> Response:
        base = str(request.scope.get("root_path", "")) + "/dashboard"
        key = request.query_params.get("key")
        if key is not None and self._access.keys is not None:
            return self._login(request, base, key)
        self._access.check(request)
        since = request.query_params.get("since", DEFAULT_SINCE)
        by = request.query_params.get("by", DEFAULT_BY)
        html = live_page(
            base,
            recording=self._store is not None,
            task_types=self._task_types,
            since=since if since in PAGE_SINCE else DEFAULT_SINCE,
            by=by if by in PAGE_BY else DEFAULT_BY,
        )
        return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        self._access.check(request)
        name = request.path_params["name"]
        if name not in SERVED:
            raise ProxyError(404, "not_found_error", f"no dashboard asset {name!r}")
        headers = {"cache-control": "private, max-age=86400", "x-content-type-options": "nosniff"}
        return Response(asset(name), media_type=SERVED[name], headers=headers)

    async def report(self, request: Request) -> Response:
        self._access.check(request)
        store = self._store
        if store is None:
            raise ProxyError(
                404,
                "not_found_error",
                "recording is off (the proxy runs with --no-record): there are no records",
            )
        query = ReportQuery.parse(request.query_params)
        try:
            data = await run_in_threadpool(_report_json, store, query)
        except InputError as exc:
            raise bad_request(str(exc)) from None
        except StoreError as exc:
            message = f"the decision store is unavailable: {exc}"
            raise ProxyError(503, "api_error", message) from None
        return _json(data)

    async def recommend(self, request: Request) -> Response:
        self._access.check(request)
        route_request = recommend_request(await _capped_body(request, MAX_TASK_BYTES))
        try:
            data = await run_in_threadpool(_recommend_json, route_request, self._router)
        except TierwiseError as exc:
            raise bad_request(f"{_field_of(exc)}: {exc}") from None
        return _json(data)

    def _login(self, request: Request, base: str, key: str) -> Response:
        """Swap ``?key=`` for a session cookie and send the browser back without the key."""
        cookie = self._access.session_cookie(key)
        rest = [item for item in request.query_params.multi_items() if item[0] != "key"]
        target = base + ("?" + urlencode(rest) if rest else "")
        response = RedirectResponse(target, status_code=303, headers={"cache-control": "no-store"})
        response.set_cookie(
            COOKIE,
            cookie,
            path=base,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response


async def _capped_body(request: Request, limit: int) -> bytes:
    """The body, refused with a 413 as soon as it passes ``limit`` (never buffered whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> ProxyError:
    return ProxyError(413, "request_too_large", f"body: larger than {limit} bytes")


def _report_json(store: Store, query: ReportQuery) -> dict[str, Any]:
    from tierwise.analysis.report import build_report

    return build_report(store, since=query.since, by=query.by, recent=query.recent).as_json()


def _recommend_json(request: RouteRequest, router: Router) -> dict[str, Any]:
    from tierwise.core.recommend import recommend

    return recommend(request, router=router).as_dict()


_FIELDS: dict[type[Exception], str] = {
    UnknownTaskTypeError: "task_type",
    UnknownTierError: "user_tier",
}


def _field_of(exc: Exception) -> str:
    return next((field for kind, field in _FIELDS.items() if isinstance(exc, kind)), "task")


def _json(data: object) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json", headers={"cache-control": "no-store"})
