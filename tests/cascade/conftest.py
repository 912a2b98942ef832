"""Shared pieces for the classifier, cascade and orchestrator tests: policies and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from serving import RunningProxy
from tierwise.core.policy import Policy, load_policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import FakeAnthropicServer, RecordedRequest

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
CONVERT = "Convert this YAML to JSON:\nservice:\n  name: billing\n  replicas: 3"
VAGUE = "Hello there, what do you think about it"  # brevity decides: the router is unsure


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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


def is_classifier(request: RecordedRequest) -> bool:
    body = request.body or {}
    content = str((body.get("messages") or [{}])[0].get("content", ""))
    return content.startswith("You grade programming tasks")


def answers(fake: FakeAnthropicServer) -> list[str]:
    """The models asked for answers (classifier calls left out), in order."""
    return [r.model or "" for r in fake.log.snapshot() if not is_classifier(r)]


FAST = RetryPolicy(max_retries=1, retries_before_fallback=0, base_delay=0.001, max_delay=0.002)


@contextmanager
def running_proxy(fake: FakeAnthropicServer, policy: Policy | None) -> Iterator[RunningProxy]:
    """The proxy with ``policy`` in front of ``fake``."""
    settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url, retry=FAST))
    outcomes: list[Outcome] = []
    app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=outcomes.append)
    server = ProxyServer(app).start()
    try:
        yield RunningProxy(server, outcomes)
    finally:
        server.stop()
