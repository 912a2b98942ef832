"""The request pipeline: which steps an endpoint runs, and single steps on hand-made requests."""

from __future__ import annotations

from typing import Any

import pytest

from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import ignore_outcome
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.auth import ClientKeys
from tierwise.serving.errors import ProxyError
from tierwise.serving.exchange import Exchange
from tierwise.serving.messages import MessagesEndpoint
from tierwise.serving.pipeline import ProxyRequest
from tierwise.serving.pipeline.read_body import ReadBody
from tierwise.serving.pipeline.route import Route
from tierwise.serving.settings import ProxySettings
from tierwise.serving.state import ProxyState
from tierwise.serving.upstream import Upstream, UpstreamConfig


def _state(**settings: Any) -> ProxyState:
    config = ProxySettings(upstream=UpstreamConfig(base_url="http://127.0.0.1:9"), **settings)
    return ProxyState(MessagesRouter(Router()), Upstream(config.upstream), config, ignore_outcome)


def _names(endpoint: MessagesEndpoint) -> list[str]:
    return [type(step).__name__ for step in endpoint.steps]


def test_the_default_pipeline_reads_routes_and_forwards() -> None:
    assert _names(MessagesEndpoint(_state())) == ["ReadBody", "Route", "Forward"]


def test_client_keys_add_authentication_first() -> None:
    keys = ClientKeys.parse("ci: tw-key\n", "test")
    endpoint = MessagesEndpoint(_state(client_keys=keys, server_key="sk-ant-server"))
    assert _names(endpoint) == ["Authenticate", "ReadBody", "Route", "Forward"]


def _request(body: bytes) -> ProxyRequest:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        raise AssertionError("a step that only reads must not answer")

    scope = {"type": "http", "path": "/v1/messages", "query_string": b"beta=true", "headers": []}
    return ProxyRequest(Exchange("req_test"), scope, receive, send, raw_headers=[])


@pytest.mark.anyio
async def test_read_body_parses_once_and_route_decides() -> None:
    request = _request(
        b'{"model": "auto", "max_tokens": 9, "messages": '
        b'[{"role": "user", "content": "Fix the typo in README"}]}'
    )
    assert await ReadBody(1 << 20)(request) is False
    assert request.exchange.requested_model == "auto"
    assert await Route(MessagesRouter(Router()), server_key=None)(request) is False
    assert request.routed.tier is not None
    assert request.path == "/v1/messages?beta=true"


@pytest.mark.anyio
async def test_read_body_refuses_a_body_that_is_not_an_object() -> None:
    with pytest.raises(ProxyError) as caught:
        await ReadBody(1 << 20)(_request(b"[1, 2]"))
    assert caught.value.status == 400
