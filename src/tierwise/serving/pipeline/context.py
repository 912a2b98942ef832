"""``ProxyRequest``: what the pipeline's steps read and fill for one request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from tierwise.budgets.guard import NO_BUDGET, BudgetCheck
from tierwise.messages.body_bytes import BodySpans
from tierwise.messages.hints import Hints
from tierwise.messages.routing import Routed
from tierwise.serving.exchange import Exchange
from tierwise.serving.headers import Header


@dataclass(slots=True)
class ProxyRequest:
    """One request on its way through the pipeline.

    ``exchange`` is the part the response headers and the outcome are made from; the rest is
    what the steps hand each other: the raw request, its parsed body, the routing and the
    headers to send upstream.
    """

    exchange: Exchange
    scope: Scope
    receive: Receive
    send: Send
    count_tokens: bool = False
    raw_headers: list[Header] = field(default_factory=list)
    raw: bytes = b""
    body: dict[str, Any] = field(default_factory=dict)
    spans: BodySpans | None = None  # where ``body``'s top-level values are in ``raw``
    version: str | None = None
    hints: Hints = field(default_factory=Hints)
    budget: BudgetCheck = NO_BUDGET
    forward: list[Header] = field(default_factory=list)  # the headers to send upstream

    @property
    def routed(self) -> Routed:
        """The routed request (set by the ``route`` step; later steps may re-route it)."""
        routed = self.exchange.routed
        assert routed is not None, "the route step runs before this one"
        return routed

    @routed.setter
    def routed(self, routed: Routed) -> None:
        self.exchange.routed = routed

    @property
    def path(self) -> str:
        """The path with its query string, as the caller sent it (``?beta=true`` included)."""
        query = self.scope.get("query_string", b"")
        path: str = self.scope["path"]
        return path + ("?" + query.decode("latin-1") if query else "")
