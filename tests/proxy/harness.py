"""The proxy under test: a running proxy, the fake upstream behind it, and what it reported.

Both run on real sockets on 127.0.0.1 in background threads; tests talk to the proxy with the
official ``anthropic`` SDK (sync and async) or a plain ``httpx`` client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anthropic

from tierwise.ledger.outcome import Outcome
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer
from tierwise.serving.upstream import RetryPolicy
from tierwise.testing import FakeAnthropicServer

FAST_RETRIES = RetryPolicy(
    max_retries=2, retries_before_fallback=1, base_delay=0.001, max_delay=0.005, max_total_wait=2.0
)
HELLO: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Say hello to the proxy"}]
VERSION = {"anthropic-version": "2023-06-01"}


@dataclass
class Proxy:
    """A running proxy, its upstream fake, and the outcomes its hook received."""

    server: ProxyServer
    fake: FakeAnthropicServer
    router: MessagesRouter
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def wait_outcomes(self, count: int = 1, timeout: float = 5.0) -> list[Outcome]:
        """The outcomes, once ``count`` have arrived (the hook runs after the response ends)."""
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} outcomes, got {len(self.outcomes)}")
            time.sleep(0.002)
        return list(self.outcomes)

    def sdk(self, **options: Any) -> anthropic.Anthropic:
        """A sync SDK client on the proxy, without SDK retries (the proxy's are under test)."""
        options.setdefault("api_key", "sk-ant-caller")
        options.setdefault("max_retries", 0)
        return anthropic.Anthropic(base_url=self.url, **options)

    def async_sdk(self, **options: Any) -> anthropic.AsyncAnthropic:
        options.setdefault("api_key", "sk-ant-caller")
        options.setdefault("max_retries", 0)
        return anthropic.AsyncAnthropic(base_url=self.url, **options)
