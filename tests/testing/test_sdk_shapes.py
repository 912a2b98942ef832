"""The fake API and the proxy accept every request shape the official SDK can build.

The shapes come from the SDK's types at runtime (``sdk_shapes``): every ``role`` of
``MessageParam``, every content block ``type``, every top-level key of ``MessageCreateParams``
(one request per union member), for ``messages.create`` and ``beta.messages.create``. Each is
sent by the SDK itself over a real socket, to the fake directly and through the proxy, and
neither may answer 400. The proxy must forward the body the fake got directly, changed only
where routing means to: ``model``, and the sanitize table's adjustments for the chosen model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import anthropic
import pytest

from tierwise.learned.pipeline import Router
from tierwise.messages.routing import MessagesRouter
from tierwise.messages.sanitize import sanitize_for
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import FakeAnthropicServer, RecordedRequest

from .sdk_shapes import HEADER_KEYS, Shape, block_params, roles, sdk_shapes, top_level

CONCRETE = "claude-sonnet-4-6"
BETAS = ["context-management-2025-06-27", "future-feature-2099-01-01"]
SHAPES = sdk_shapes()
NO_RETRIES = RetryPolicy(max_retries=0)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="module")
def proxy_url(fake: FakeAnthropicServer) -> Iterator[str]:
    settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url, retry=NO_RETRIES))
    server = ProxyServer(create_app(MessagesRouter(Router()), settings)).start()
    yield server.url
    server.stop()


def send(base_url: str, shape: Shape, model: str, *, stream: bool = False) -> None:
    """``shape`` sent by the SDK to ``base_url``; fails the test on any HTTP error."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": 64,
        "messages": shape.messages,
        **shape.fields,
    }
    with anthropic.Anthropic(base_url=base_url, api_key="sk-test", max_retries=0) as client:
        try:
            if shape.beta:
                create: Any = client.beta.messages.create
                params["betas"] = BETAS
            else:
                create = client.messages.create
            if stream:
                with create(**params, stream=True) as events:
                    for _ in events:
                        pass
            else:
                create(**params)
        except anthropic.APIStatusError as error:
            pytest.fail(f"{base_url} refused the SDK shape {shape.name}: {error}")


def test_the_enumeration_covers_what_the_sdk_declares() -> None:
    """A guard on the enumeration itself: roles, block types and fields really were found."""
    from anthropic.types import ContentBlockParam, MessageParam
    from anthropic.types import message_create_params as create_params

    assert roles(MessageParam) == ["user", "assistant", "system"]
    kinds = block_params(ContentBlockParam)
    assert {"text", "image", "document", "tool_use", "tool_result", "thinking"} <= set(kinds)
    fields = top_level(create_params.MessageCreateParamsBase)
    assert {"system", "tools", "tool_choice", "thinking", "metadata"} <= set(fields)
    names = {shape.name for shape in SHAPES}
    assert {"role:system", "beta.role:system", "block:container_upload"} <= names
    assert len(SHAPES) > 100


def _recorded(
    fake: FakeAnthropicServer, base_url: str, shape: Shape, model: str
) -> RecordedRequest:
    fake.log.clear()
    send(base_url, shape, model)
    messages = fake.log.messages()
    assert len(messages) == 1, f"{shape.name}: {len(messages)} requests reached the fake"
    return messages[0]


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_every_sdk_shape_is_accepted_and_forwarded_unchanged(
    shape: Shape, fake: FakeAnthropicServer, proxy_url: str
) -> None:
    direct = _recorded(fake, fake.url, shape, CONCRETE)
    passed = _recorded(fake, proxy_url, shape, CONCRETE)
    assert passed.body == direct.body, "a concrete model passes through byte for byte"
    assert passed.raw_body == direct.raw_body
    assert passed.query == direct.query
    routed = _recorded(fake, proxy_url, shape, "auto")
    assert routed.model is not None
    assert routed.model.startswith("claude-")
    expected = sanitize_for(direct.body, routed.model, api_version="2023-06-01").body
    assert routed.body == expected, "only model and the sanitize table's fields may change"
    if shape.beta:
        for request in (direct, passed, routed):
            assert request.headers["anthropic-beta"] == ",".join(BETAS)
    assert isinstance(direct.body, dict)
    assert not HEADER_KEYS & set(direct.body), "betas travel as the anthropic-beta header"


@pytest.mark.parametrize("base", ["fake", "proxy"])
def test_a_streamed_system_role_request_is_accepted(
    base: str, fake: FakeAnthropicServer, proxy_url: str
) -> None:
    shape = next(s for s in SHAPES if s.name == "role:system")
    fake.log.clear()
    url, model = (fake.url, CONCRETE) if base == "fake" else (proxy_url, "auto")
    send(url, shape, model, stream=True)
    recorded = fake.log.messages()
    assert len(recorded) == 1
    assert recorded[0].body["messages"][1]["role"] == "system"


@pytest.mark.parametrize("where", ["top-level", "block"])
def test_fields_and_blocks_the_sdk_does_not_know_yet_pass_through(
    where: str, fake: FakeAnthropicServer, proxy_url: str
) -> None:
    """A newer API than the pinned SDK: ``extra_body`` fields and block types it lacks."""
    block = {"type": "future_block_2099", "payload": {"a": 1}}
    content: list[dict[str, Any]] = [{"type": "text", "text": "Explain this"}]
    if where == "block":
        content.append(block)
    fields: dict[str, Any] = {"future_field_2099": {"x": [1, 2]}} if where == "top-level" else {}
    fake.log.clear()
    with anthropic.Anthropic(base_url=proxy_url, api_key="sk-test", max_retries=0) as client:
        client.messages.create(
            model=CONCRETE,
            max_tokens=64,
            messages=[cast(Any, {"role": "user", "content": content})],
            extra_body=fields,
        )
    body = fake.log.messages()[0].body
    if where == "block":
        assert body["messages"][0]["content"][1] == block
    else:
        assert body["future_field_2099"] == {"x": [1, 2]}
