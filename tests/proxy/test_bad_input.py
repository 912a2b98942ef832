"""Requests the proxy refuses itself: exact statuses, Anthropic error types, never a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anthropic
import httpx
import pytest

from tierwise.core.decision import Verdict
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.messages.body_bytes import BodySpans
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter, Routed

from .conftest import ProxyFactory
from .harness import HELLO, VERSION, Proxy


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The Anthropic error body, after checking its shape and our request id."""
    body: dict[str, Any] = response.json()
    assert body["type"] == "error"
    assert set(body["error"]) >= {"type", "message"}
    assert body["request_id"].startswith("req_tierwise_")
    assert response.headers["request-id"] == body["request_id"]
    assert response.headers["content-type"] == "application/json"
    return body


def post(proxy: Proxy, content: bytes, path: str = "/v1/messages") -> httpx.Response:
    headers = {**VERSION, "content-type": "application/json"}
    return httpx.post(f"{proxy.url}{path}", content=content, headers=headers)


def test_malformed_json_is_a_400(proxy: Proxy) -> None:
    response = post(proxy, b'{"model": "auto", "messages": [')
    assert response.status_code == 400
    assert error_of(response)["error"]["type"] == "invalid_request_error"
    assert response.headers["x-tierwise-reason"] == "refused: invalid_request_error"
    assert response.headers["x-tierwise-model"] == "none"
    assert response.headers["x-tierwise-decision-us"] == "0"
    # the proxy's own request id: in the error body and the header that keys the record
    assert response.headers["x-tierwise-request-id"] == error_of(response)["request_id"]
    assert len(proxy.fake.log) == 0


def test_a_json_array_is_a_400(proxy: Proxy) -> None:
    response = post(proxy, b"[1, 2]")
    assert response.status_code == 400
    assert "JSON object" in error_of(response)["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_missing_messages_is_a_400(proxy: Proxy, path: str) -> None:
    response = post(proxy, b'{"model": "auto", "max_tokens": 10}', path)
    assert response.status_code == 400
    body = error_of(response)
    assert body["error"]["type"] == "invalid_request_error"
    assert "messages" in body["error"]["message"]
    assert len(proxy.fake.log) == 0


def test_unknown_alias_is_a_400_naming_the_known_ones(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="gpt-5", max_tokens=10, messages=HELLO)
    message = caught.value.message
    assert "auto" in message
    assert "tierwise-auto" in message
    assert caught.value.response.headers["x-tierwise-model"] == "gpt-5"
    assert len(proxy.fake.log) == 0


def test_a_body_over_the_declared_limit_is_a_413(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy(max_body_bytes=1000)
    response = post(proxy, b'{"model": "auto", "pad": "' + b"x" * 5000 + b'"}')
    assert response.status_code == 413
    assert error_of(response)["error"]["type"] == "request_too_large"
    (outcome,) = proxy.wait_outcomes()
    assert outcome.status == 413


def test_a_chunked_body_over_the_limit_is_a_413(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy(max_body_bytes=1000)

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "auto", "pad": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    response = httpx.post(f"{proxy.url}/v1/messages", content=chunks(), headers=VERSION)
    assert response.status_code == 413
    assert error_of(response)["error"]["type"] == "request_too_large"


def test_a_body_at_the_limit_is_accepted(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy(max_body_bytes=1000)
    body = b'{"model": "claude-haiku-5-5", "max_tokens": 5, "messages": [{"role": "user", '
    body += b'"content": "hi"}], "pad": "'
    body += b"x" * (1000 - len(body) - 2) + b'"}'
    assert len(body) == 1000
    assert post(proxy, body).status_code == 200


def test_unknown_path_and_method_are_anthropic_errors(proxy: Proxy) -> None:
    missing = httpx.get(f"{proxy.url}/v1/nothing-here")
    assert missing.status_code == 404
    assert error_of(missing)["error"]["type"] == "not_found_error"
    wrong = httpx.get(f"{proxy.url}/v1/messages")
    assert wrong.status_code == 405
    assert error_of(wrong)["error"]["type"] == "invalid_request_error"


class _BrokenRouter(MessagesRouter):
    def route(
        self,
        body: Mapping[str, Any],
        hints: Hints,
        *,
        api_version: str | None = None,
        limits: Sequence[Verdict] = (),
        session: str | None = None,
        spans: BodySpans | None = None,
    ) -> Routed:
        raise RuntimeError("a bug, with sk-ant-secret in its message")


def test_an_unexpected_exception_is_a_500_api_error(make_proxy: ProxyFactory) -> None:
    proxy = make_proxy(router=_BrokenRouter(Router()))
    response = post(proxy, b'{"model": "auto", "max_tokens": 5, "messages": []}')
    assert response.status_code == 500
    body = error_of(response)
    assert body["error"] == {"type": "api_error", "message": "internal proxy error"}
    assert "sk-ant" not in response.text
    # and the proxy still serves
    assert httpx.get(f"{proxy.url}/healthz").json() == {"status": "ok"}


def test_a_failing_outcome_hook_does_not_break_the_response(make_proxy: ProxyFactory) -> None:
    seen: list[Outcome] = []

    def hook(outcome: Outcome) -> None:
        seen.append(outcome)
        raise ValueError("recorder down")

    proxy = make_proxy(on_outcome=hook)
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    first = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)
    second = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)
    assert first.status_code == second.status_code == 200
    deadline = time.monotonic() + 5  # the hook runs after the response is sent
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(seen) == 2
