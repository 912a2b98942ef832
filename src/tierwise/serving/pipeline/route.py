"""Step ``route``: the routing decision (its time is ``x-tierwise-decision-us``), and the
headers that go upstream."""

from __future__ import annotations

import time
from collections.abc import Sequence

from tierwise.core.errors import InputError
from tierwise.messages.routing import MessagesRouter
from tierwise.messages.sessions import session_key
from tierwise.serving.errors import bad_request
from tierwise.serving.headers import Header, upstream_headers
from tierwise.serving.pipeline.context import ProxyRequest


class Route:
    """Routes the body with ``MessagesRouter``; input routing cannot read is a 400."""

    def __init__(self, router: MessagesRouter, *, server_key: str | None) -> None:
        self.router = router
        self.server_key = server_key

    async def __call__(self, request: ProxyRequest) -> bool:
        ex = request.exchange
        began = time.perf_counter_ns()
        try:
            if request.count_tokens:  # a count is no turn of a session
                ex.routed = self.router.route_count_tokens(
                    request.body,
                    request.hints,
                    api_version=request.version,
                    limits=request.budget.limits,
                    spans=request.spans,
                )
            else:
                ex.routed = self.router.route(
                    request.body,
                    request.hints,
                    api_version=request.version,
                    limits=request.budget.limits,
                    session=session_key(_client_headers(request.raw_headers)),
                    spans=request.spans,
                )
        except InputError as exc:
            raise bad_request(str(exc)) from None
        finally:
            ex.decision_us = (time.perf_counter_ns() - began) // 1000
        request.forward = upstream_headers(request.raw_headers, server_key=self.server_key)
        return False


def _client_headers(raw: Sequence[Header]) -> dict[str, str]:
    """The agent client's own headers (``x-claude-code-*``), decoded; ASGI names are lower-case."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in raw
        if name.startswith(b"x-claude-code-")
    }
