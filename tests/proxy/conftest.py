"""Fixtures for the proxy's tests: the fake Anthropic API upstream, the proxy in front of it.

Retries use tiny delays so resilience tests take milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import anthropic
import pytest

from tierwise.core.policy import Policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome, OutcomeHook
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer, Reply

from .harness import FAST_RETRIES, Proxy

ProxyFactory = Callable[..., Proxy]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def start_proxy(
    fake: FakeAnthropicServer,
    *,
    policy: Policy | None = None,
    upstream: UpstreamConfig | None = None,
    router: MessagesRouter | None = None,
    on_outcome: OutcomeHook | None = None,
    **overrides: Any,
) -> Proxy:
    """A running proxy on ``fake``; keyword arguments override ``ProxySettings`` fields;
    ``policy=``, ``upstream=`` (an ``UpstreamConfig``), ``router=`` and ``on_outcome=``
    replace those."""
    config = upstream or UpstreamConfig(base_url=fake.url, retry=FAST_RETRIES)
    settings = replace(ProxySettings(upstream=config), **overrides)
    outcomes: list[Outcome] = []
    router = router or MessagesRouter(Router(policy))
    app = create_app(router, settings, on_outcome=on_outcome or outcomes.append)
    return Proxy(ProxyServer(app).start(), fake, router, outcomes)


# Starting and stopping uvicorn takes ~0.2 s per server, so the fake and the default proxy are
# shared by the whole session and reset before each test: the script (defaults included), the
# request log, the outcomes and the conversation pins.


@pytest.fixture(scope="session")
def shared_fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="session")
def shared_proxy(shared_fake: FakeAnthropicServer) -> Iterator[Proxy]:
    proxy = start_proxy(shared_fake)
    yield proxy
    proxy.server.stop()


@pytest.fixture
def fake(shared_fake: FakeAnthropicServer) -> FakeAnthropicServer:
    shared_fake.reset()
    shared_fake.script.set_default(Reply())
    return shared_fake


@pytest.fixture
def proxy(shared_proxy: Proxy, fake: FakeAnthropicServer) -> Iterator[Proxy]:
    shared_proxy.outcomes.clear()
    shared_proxy.router.pins.clear()
    shared_proxy.router.sessions.clear()
    yield shared_proxy
    _settle(shared_proxy.outcomes)


def _settle(outcomes: list[Outcome], quiet: float = 0.05, limit: float = 2.0) -> None:
    """Wait until no outcome has arrived for ``quiet`` seconds: the hook runs after a response
    has been sent, so on a loaded machine a test's last outcome can land after it returned,
    and must not be counted by the next test."""
    deadline = time.monotonic() + limit
    seen, since = len(outcomes), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.005)
        if len(outcomes) != seen:
            seen, since = len(outcomes), time.monotonic()


@pytest.fixture
def make_proxy(fake: FakeAnthropicServer) -> Iterator[ProxyFactory]:
    """Start proxies with other settings (see ``start_proxy``); stopped after the test."""
    running: list[Proxy] = []

    def start(**options: Any) -> Proxy:
        proxy = start_proxy(fake, **options)
        running.append(proxy)
        return proxy

    yield start
    for proxy in running:
        proxy.server.stop()


@pytest.fixture
def client(proxy: Proxy) -> Iterator[anthropic.Anthropic]:
    with proxy.sdk() as sdk:
        yield sdk
