"""``RunningProxy``: an in-process proxy on a real socket and the outcomes it reported (a
``tierwise serve`` process is ``tierwise.testing.serve_process``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tierwise.ledger.outcome import Outcome
from tierwise.serving.messages import MessagesEndpoint
from tierwise.serving.server import ProxyServer


@dataclass
class RunningProxy:
    """A proxy on a real socket, and the outcomes it reported."""

    server: ProxyServer
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def endpoint(self) -> MessagesEndpoint:
        """The ``/v1/messages`` handler (to reach its classifier)."""
        app: Any = self.server.app
        found = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/v1/messages")
        assert isinstance(found, MessagesEndpoint)
        return found

    def wait_outcomes(self, count: int = 1, timeout: float = 5.0) -> list[Outcome]:
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} outcomes, got {len(self.outcomes)}")
            time.sleep(0.002)
        return list(self.outcomes)
