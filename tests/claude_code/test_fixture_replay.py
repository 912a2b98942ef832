"""Every request Claude Code 2.1.332 was seen sending, replayed through the proxy: 0 refusals.

The fixtures (``tests/data/claude_code/*.json``, see FINDINGS.md) are replayed as captured:
method, path with its query (``/v1/messages?beta=true``), headers (``anthropic-beta`` and the
CLI's own) and body, with ``model`` set to a routing alias, and once to the concrete model the
CLI asked for. The fake upstream must get the same path, query, betas and body, changed only in
``model`` and where the sanitize table adjusts a field for the model routing chose.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tierwise.learned.pipeline import Router
from tierwise.messages.routing import MessagesRouter
from tierwise.messages.sanitize import sanitize_for
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import FakeAnthropicServer

FIXTURES = sorted((Path(__file__).parents[1] / "data" / "claude_code").glob("*.json"))
MESSAGES = [f for f in FIXTURES if json.loads(f.read_text())["path"].startswith("/v1/messages")]
ALIASES = ["tierwise-claude-sonnet-4-6", "tierwise-auto"]
API_KEY = "sk-ant-test-0000000000000000"
CONCRETE = "claude-sonnet-4-6"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="module")
def proxy_url(fake: FakeAnthropicServer) -> Iterator[str]:
    upstream = UpstreamConfig(base_url=fake.url, retry=RetryPolicy(max_retries=0))
    app = create_app(MessagesRouter(Router()), ProxySettings(upstream=upstream))
    server = ProxyServer(app).start()
    yield server.url
    server.stop()


def load(path: Path) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(path.read_text())
    return fixture


def replay(base_url: str, fixture: dict[str, Any], body: Any) -> httpx.Response:
    headers = {**fixture["headers"], "x-api-key": API_KEY}
    content = json.dumps(body).encode() if body is not None else None
    return httpx.request(
        fixture["method"], base_url + fixture["path"], headers=headers, content=content, timeout=30
    )


def test_the_fixtures_include_the_role_system_shape() -> None:
    assert len(FIXTURES) >= 14
    roles = {m["role"] for f in MESSAGES for m in load(f)["body"]["messages"]}
    assert roles == {"user", "assistant", "system"}


@pytest.mark.parametrize("model", [*ALIASES, "concrete"])
@pytest.mark.parametrize("path", MESSAGES, ids=[f.stem for f in MESSAGES])
def test_claude_code_requests_are_accepted_and_forwarded(
    path: Path, model: str, fake: FakeAnthropicServer, proxy_url: str
) -> None:
    fixture = load(path)
    body = copy.deepcopy(fixture["body"])
    if model != "concrete":
        body["model"] = model
    elif not body["model"].startswith("claude-"):  # captured with --model tierwise-auto
        body["model"] = CONCRETE
    fake.log.clear()
    response = replay(proxy_url, fixture, body)
    assert response.status_code == 200, f"{path.stem} refused: {response.text[:500]}"
    if body.get("stream"):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "event: message_stop" in response.text
    (received,) = fake.log.messages()
    assert received.query == fixture["path"].partition("?")[2]
    for name in ("anthropic-beta", "anthropic-version", "x-claude-code-session-id", "x-app"):
        if name in fixture["headers"]:
            assert received.headers[name] == fixture["headers"][name]
    served = response.headers["x-tierwise-model"]
    assert received.model == served
    if model == "concrete":
        assert served == body["model"]
        assert received.raw_body == json.dumps(body).encode(), "passed through byte for byte"
    else:
        expected = sanitize_for(body, served, api_version="2023-06-01").body
        assert received.body == expected


@pytest.mark.parametrize("path", [f for f in FIXTURES if f not in MESSAGES], ids=lambda f: f.stem)
def test_the_other_calls_are_answered(path: Path, proxy_url: str) -> None:
    """``GET /v1/models?limit=1000`` (gateway discovery) lists the aliases; ``HEAD /api/hello``
    gets an answer (a 404 is harmless to the CLI)."""
    fixture = load(path)
    response = replay(proxy_url, fixture, None)
    assert response.status_code != 400
    if fixture["path"].startswith("/v1/models"):
        assert response.status_code == 200
        ids = [m["id"] for m in response.json()["data"]]
        assert {"tierwise-claude-sonnet-4-6", "tierwise-claude-haiku-4-5"} <= set(ids)
