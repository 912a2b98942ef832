"""Routing through the proxy: aliases, hints, pass-through, and what crosses it untouched."""

from __future__ import annotations

import json

import anthropic
import httpx

from tierwise.testing import FakeAnthropicServer

from .harness import HELLO, VERSION, Proxy


def test_alias_is_routed_and_the_response_says_where(proxy: Proxy) -> None:
    with proxy.sdk() as client:
        raw = client.messages.with_raw_response.create(
            model="auto", max_tokens=100, messages=[{"role": "user", "content": "Fix the typo"}]
        )
    message = raw.parse()
    routed = proxy.fake.log.models()
    assert len(routed) == 1
    assert routed[0] != "auto"
    assert message.model == routed[0]
    assert raw.headers["x-tierwise-model"] == routed[0]
    assert raw.headers["x-tierwise-tier"] in ("haiku", "sonnet", "opus")
    assert raw.headers["x-tierwise-reason"].isascii()
    assert int(raw.headers["x-tierwise-decision-us"]) >= 0
    assert "x-tierwise-fallback" not in raw.headers


def test_hint_headers_route_and_are_not_forwarded(proxy: Proxy) -> None:
    with proxy.sdk() as client:
        raw = client.messages.with_raw_response.create(
            model="auto",
            max_tokens=100,
            messages=HELLO,
            extra_headers={"x-tierwise-task-type": "architect", "X-Tierwise-Domain": "database"},
        )
    assert raw.headers["x-tierwise-model"] == "claude-opus-5-5"
    forwarded = proxy.fake.log.last
    assert forwarded.model == "claude-opus-5-5"
    assert not [name for name in forwarded.headers if name.startswith("x-tierwise")]


def test_hint_in_metadata_routes_and_is_removed(proxy: Proxy) -> None:
    body = {
        "model": "tierwise-auto",
        "max_tokens": 50,
        "messages": HELLO,
        "metadata": {"user_id": "u-1", "tierwise_task_type": "format"},
    }
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)
    assert response.status_code == 200
    assert proxy.fake.log.last.model == "claude-haiku-5-5"
    assert proxy.fake.log.last.body["metadata"] == {"user_id": "u-1"}


def test_concrete_model_passes_through_byte_for_byte(proxy: Proxy) -> None:
    raw = (
        b'{"model": "claude-sonnet-5-5",  "max_tokens": 20, "messages": '
        b'[{"role": "user", "content": "caf\\u00e9 \xe2\x98\x95"}], '
        b'"future_field": {"x": [1, 2.50]}}'
    )
    response = httpx.post(
        f"{proxy.url}/v1/messages?beta=true",
        content=raw,
        headers={**VERSION, "content-type": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["x-tierwise-model"] == "claude-sonnet-5-5"
    assert response.headers["x-tierwise-reason"] == "pass-through"
    assert response.headers["x-tierwise-tier"] == "sonnet"
    forwarded = proxy.fake.log.last
    assert forwarded.raw_body == raw
    assert forwarded.query == "beta=true"


def test_unknown_body_fields_survive_routing(proxy: Proxy) -> None:
    body = {
        "model": "auto",
        "max_tokens": 30,
        "messages": HELLO,
        "future_field": {"nested": [1, "two", None]},
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    }
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)
    assert response.status_code == 200
    forwarded = proxy.fake.log.last.body
    assert forwarded["future_field"] == body["future_field"]
    assert forwarded["system"] == body["system"]
    assert forwarded["model"] != "auto"


def test_version_beta_and_client_headers_are_forwarded_byte_identical(proxy: Proxy) -> None:
    headers = {
        "anthropic-version": "2026-10-21",
        "anthropic-beta": "context-1m-2025-08-07,  fast-mode-2026-02-01",
        "anthropic-workspace-id": "wrkspc_01",
        "anthropic-user-profile-id": "prof_01",
        "x-custom-thing": "kept",
        "user-agent": "my-app/1.0",
        "x-api-key": "sk-ant-caller-key",
        "accept-encoding": "gzip, br",
    }
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=headers)
    assert response.status_code == 200
    seen = proxy.fake.log.last.headers
    for name in (
        "anthropic-version",
        "anthropic-beta",
        "anthropic-workspace-id",
        "anthropic-user-profile-id",
        "x-custom-thing",
        "user-agent",
        "x-api-key",
    ):
        assert seen[name] == headers[name]
    assert seen["accept-encoding"] == "identity"
    assert seen["host"] != f"{proxy.url.removeprefix('http://')}"


def test_bearer_credentials_are_forwarded_unchanged(proxy: Proxy) -> None:
    with proxy.sdk(api_key=None, auth_token="oauth-token-123") as client:
        client.messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)
    assert proxy.fake.log.last.headers["authorization"] == "Bearer oauth-token-123"


def test_upstream_response_headers_are_relayed(proxy: Proxy) -> None:
    with proxy.sdk() as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-5-5", max_tokens=5, messages=HELLO
        )
        message = raw.parse()
    assert raw.headers["request-id"] == proxy.fake.log.last.request_id
    assert message._request_id == proxy.fake.log.last.request_id
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        for part in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{kind}-{part}" in raw.headers


def test_retry_headers_on_a_relayed_error(proxy: Proxy) -> None:
    headers = {"retry-after": "7", "retry-after-ms": "7000", "x-should-retry": "false"}
    proxy.fake.script.fail(429, headers=headers)
    with proxy.sdk() as client:
        try:
            client.messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)
        except anthropic.RateLimitError as error:
            relayed = error.response.headers
        else:
            raise AssertionError("expected a 429")
    assert relayed["retry-after"] == "7"
    assert relayed["retry-after-ms"] == "7000"
    assert relayed["x-should-retry"] == "false"
    assert relayed["x-tierwise-model"] == "claude-haiku-5-5"
    assert len(proxy.fake.log.messages()) == 1  # x-should-retry: false is obeyed


def test_async_sdk_through_the_proxy(fake: FakeAnthropicServer, proxy: Proxy) -> None:
    import anyio

    async def run() -> str:
        async with proxy.async_sdk() as client:
            message = await client.messages.create(
                model="auto",
                max_tokens=50,
                messages=HELLO,
                extra_headers={"x-tierwise-task-type": "format"},
            )
        block = message.content[0]
        assert isinstance(block, anthropic.types.TextBlock)
        return block.text

    text = anyio.run(run)
    assert text == "[claude-haiku-5-5] ok: Say hello to the proxy"
    assert json.loads(fake.log.last.raw_body)["model"] == "claude-haiku-5-5"
