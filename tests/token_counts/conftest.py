"""A proxy on a real socket in front of the fake Anthropic API, with token counting on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from serving import RunningProxy
from tierwise.core.policy import Policy, load_policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.auth import ClientKeys
from tierwise.serving.threaded_server import BackgroundServer
from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import FakeAnthropicServer, FakeConfig, RecordedRequest, fake_anthropic_app

COUNT_PATH = "/v1/messages/count_tokens"
FAST = RetryPolicy(max_retries=1, retries_before_fallback=0, base_delay=0.001, max_delay=0.002)
COUNTING = """
[context]
count_tokens = true
count_timeout = {timeout}
"""


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeAnthropicServer) -> FakeAnthropicServer:
    shared_fake.reset()
    return shared_fake


def policy_with(tmp_path: Path, toml: str) -> Policy:
    """The default policy with ``toml`` merged over it."""
    path = tmp_path / "policy.toml"
    path.write_text('extends = "default"\n' + toml, encoding="utf-8")
    return load_policy(path)


def counting(tmp_path: Path, timeout: float = 2.0, extra: str = "") -> Policy:
    return policy_with(tmp_path, COUNTING.format(timeout=timeout) + extra)


def count_calls(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.method == "POST" and r.path == COUNT_PATH]


@contextmanager
def running_proxy(
    upstream_url: str, policy: Policy, *, server_key: str | None = None
) -> Iterator[RunningProxy]:
    """The proxy with ``policy`` in front of the upstream at ``upstream_url`` (in server-key
    mode with ``server_key``: the caller then presents the proxy key ``caller-key``)."""
    settings = ProxySettings(
        upstream=UpstreamConfig(base_url=upstream_url, retry=FAST),
        server_key=server_key,
        client_keys=ClientKeys.parse("app: caller-key", "test") if server_key else None,
    )
    outcomes: list[Outcome] = []
    app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=outcomes.append)
    server = ProxyServer(app).start()
    try:
        yield RunningProxy(server, outcomes)
    finally:
        server.stop()


def _slow_or_failing_counts(app: ASGIApp, delay: float, status: int | None) -> ASGIApp:
    """``app`` whose count_tokens endpoint first waits ``delay`` seconds and then, if
    ``status`` is set, answers that status with an Anthropic error body instead."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == COUNT_PATH:
            await anyio.sleep(delay)
            if status is not None:
                body = (
                    b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
                )
                headers = [(b"content-type", b"application/json")]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return wrapped


@dataclass
class Troubled:
    url: str
    config: FakeConfig


@contextmanager
def troubled_upstream(*, delay: float = 0.0, status: int | None = None) -> Iterator[Troubled]:
    """The fake API on a real socket, its count_tokens endpoint slow or failing."""
    config = FakeConfig()
    app = _slow_or_failing_counts(fake_anthropic_app(config), delay, status)
    server = BackgroundServer(app, name="troubled fake", lifespan="off").start()
    try:
        yield Troubled(server.url, config)
    finally:
        server.stop()
