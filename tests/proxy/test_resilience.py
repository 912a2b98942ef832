"""Retries, fallbacks and an unreachable upstream, as the SDK sees them through the proxy."""

from __future__ import annotations

import socket

import anthropic
import httpx
import pytest

from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import Fail, FakeAnthropicServer

from .conftest import ProxyFactory
from .harness import FAST_RETRIES, HELLO, VERSION, Proxy

OPUS = {"x-tierwise-task-type": "architect"}  # the default policy sends this to Opus


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error")],
)
def test_a_failed_attempt_is_retried(
    proxy: Proxy, client: anthropic.Anthropic, status: int, error_type: str
) -> None:
    proxy.fake.script.fail(status)
    message = client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
    assert message.model == "claude-haiku-5-5"
    assert proxy.fake.log.models() == ["claude-haiku-5-5"] * 2
    (outcome,) = proxy.wait_outcomes()
    assert outcome.status == 200
    assert [(a.model, a.status, a.retries) for a in outcome.attempts] == [
        ("claude-haiku-5-5", 200, 1)
    ]


def test_retry_after_is_honoured(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.rate_limited(retry_after=0.25)
    client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
    first, second = proxy.fake.log.messages()
    assert second.time - first.time >= 0.24  # the backoff alone would be ~1 ms


def test_retry_after_ms_wins_over_retry_after(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.fail(429, headers={"retry-after-ms": "150", "retry-after": "30"})
    client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
    first, second = proxy.fake.log.messages()
    assert 0.14 <= second.time - first.time < 5


def test_x_should_retry_true_retries_a_4xx(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.fail(409, headers={"x-should-retry": "true"})
    client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
    assert len(proxy.fake.log.messages()) == 2


def test_dropped_connection_is_retried(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.drop()
    message = client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
    assert message.stop_reason == "end_turn"
    assert len(proxy.fake.log.messages()) == 2


def test_persistent_overload_falls_back_to_the_next_tier(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    proxy.fake.script.set_default(Fail(529), model="claude-opus-5-5")
    raw = client.messages.with_raw_response.create(
        model="auto", max_tokens=20, messages=HELLO, extra_headers=OPUS
    )
    message = raw.parse()
    assert message.model == "claude-sonnet-5-5"
    assert raw.headers["x-tierwise-fallback"] == (
        "claude-opus-5-5 -> claude-sonnet-5-5 (overloaded_error)"
    )
    assert raw.headers["x-tierwise-model"] == "claude-sonnet-5-5"
    assert raw.headers["x-tierwise-tier"] == "sonnet"
    # one retry on Opus while a fallback was left, then Sonnet
    assert proxy.fake.log.models() == ["claude-opus-5-5"] * 2 + ["claude-sonnet-5-5"]
    (outcome,) = proxy.wait_outcomes()
    assert outcome.served_model == "claude-sonnet-5-5"
    assert outcome.fell_back
    assert [(a.model, a.status, a.error_type) for a in outcome.attempts] == [
        ("claude-opus-5-5", 529, "overloaded_error"),
        ("claude-sonnet-5-5", 200, None),
    ]
    assert outcome.baseline_model == "claude-opus-5-5"


def test_fallback_works_for_streams_too(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.set_default(Fail(500), model="claude-opus-5-5")
    with client.messages.stream(
        model="auto", max_tokens=50, messages=HELLO, extra_headers=OPUS
    ) as stream:
        text = "".join(stream.text_stream)
        fallback = stream.response.headers["x-tierwise-fallback"]
    assert text.startswith("[claude-sonnet-5-5]")
    assert fallback == "claude-opus-5-5 -> claude-sonnet-5-5 (api_error)"


def test_when_every_model_fails_the_last_error_is_relayed(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    proxy.fake.script.set_default(Fail(529))
    with pytest.raises(anthropic.OverloadedError) as caught:
        client.messages.create(model="auto", max_tokens=20, messages=HELLO, extra_headers=OPUS)
    headers = caught.value.response.headers
    assert headers["x-tierwise-fallback"] == (
        "claude-opus-5-5 -> claude-sonnet-5-5 (overloaded_error)"
    )
    assert headers["x-tierwise-model"] == "claude-sonnet-5-5"
    assert headers["request-id"] == proxy.fake.log.last.request_id
    # Opus: 1 try + 1 retry (a fallback was left); Sonnet, the last: 1 try + 2 retries
    assert proxy.fake.log.models() == ["claude-opus-5-5"] * 2 + ["claude-sonnet-5-5"] * 3


def test_a_request_error_is_relayed_as_is_without_retry_or_fallback(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    proxy.fake.script.fail(400, message="messages.0.content: bad block")
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="auto", max_tokens=20, messages=HELLO, extra_headers=OPUS)
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "messages.0.content: bad block"},
        "request_id": proxy.fake.log.last.request_id,
    }
    assert caught.value.response.headers["x-tierwise-model"] == "claude-opus-5-5"
    assert "x-tierwise-fallback" not in caught.value.response.headers
    assert len(proxy.fake.log.messages()) == 1


def test_a_concrete_model_is_never_swapped(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.set_default(Fail(529), model="claude-opus-5-5")
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model="claude-opus-5-5", max_tokens=20, messages=HELLO)
    assert set(proxy.fake.log.models()) == {"claude-opus-5-5"}
    assert len(proxy.fake.log.messages()) == 3  # the full retry budget, no fallback


def test_a_non_json_upstream_error_becomes_anthropic_shaped(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    proxy.fake.script.push(Fail(403, body="<html>Forbidden by a corporate proxy</html>"))
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "permission_error"
    assert caught.value.response.headers["content-type"] == "application/json"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_upstream_is_a_502_api_error(make_proxy: ProxyFactory) -> None:
    upstream = UpstreamConfig(base_url=f"http://127.0.0.1:{_closed_port()}", retry=FAST_RETRIES)
    proxy = make_proxy(upstream=upstream)
    body = {"model": "auto", "max_tokens": 5, "messages": HELLO}
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)
    assert response.status_code == 502
    error = response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "api_error"
    assert error["request_id"].startswith("req_tierwise_")
    assert response.headers["request-id"] == error["request_id"]
    assert "x-tierwise-model" in response.headers
    (outcome,) = proxy.wait_outcomes()
    assert outcome.status == 502
    assert len(outcome.attempts) == 2  # the routed model and its fallback


def test_upstream_timeout_is_a_504_timeout_error(
    fake: FakeAnthropicServer, make_proxy: ProxyFactory
) -> None:
    retry = RetryPolicy(max_retries=0, retries_before_fallback=0)
    proxy = make_proxy(upstream=UpstreamConfig(base_url=fake.url, read_timeout=0.2, retry=retry))
    fake.script.set_default(Fail(529, latency=1.0))
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout_error"
    (outcome,) = proxy.wait_outcomes()
    assert outcome.attempts[0].error_type == "timeout_error"
    assert outcome.attempts[0].status is None
