"""The drop-in client against the fake Anthropic API over a real socket, sync and async."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming import MessageStreamManager
from anthropic.types import Message, MessageParam, MessageTokensCount

import tierwise
from tierwise.client import decision_of, routed_of
from tierwise.client import tagging as client_module
from tierwise.client.tagging import attach
from tierwise.core.errors import InputError, UnknownAliasError
from tierwise.core.policy import load_policy
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.testing import FakeAnthropicServer

POLICY_FILE = Path(__file__).parent / "data" / "dispatch_policy.toml"
SIMPLE: list[MessageParam] = [{"role": "user", "content": "Fix the typo in the README"}]
HARD: list[MessageParam] = [{"role": "user", "content": "Prove the queue has no race condition"}]


def with_hints(metadata: dict[str, str]) -> Any:
    """Metadata with tierwise's hint keys, which the SDK's ``MetadataParam`` does not declare."""
    return metadata


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def client(fake: FakeAnthropicServer) -> Iterator[tierwise.Anthropic]:
    fake.reset()
    with tierwise.Anthropic(
        policy=POLICY_FILE, base_url=fake.url, api_key="test", max_retries=0
    ) as sdk:
        yield sdk


def test_auto_reaches_upstream_as_the_routed_model(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    message = client.messages.create(model="auto", max_tokens=100, messages=SIMPLE)
    assert isinstance(message, Message)
    assert message.model == "claude-haiku-5-5"
    assert fake.log.models() == ["claude-haiku-5-5"]
    decision = decision_of(message)
    assert decision is not None
    assert decision.tier is Tier.HAIKU
    routed = routed_of(message)
    assert routed is not None
    assert routed.requested_model == "auto"
    assert client.tierwise_router.pins.get(routed.conversation_key) == "claude-haiku-5-5"


def test_hints_route_and_never_reach_upstream(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    message = client.messages.create(
        model="tierwise-auto",
        max_tokens=100,
        messages=SIMPLE,
        metadata=with_hints({"user_id": "u-1", "tierwise_domain": "security"}),
        extra_headers={"X-Tierwise-Task-Type": "architect", "x-custom": "kept"},
    )
    assert message.model == "claude-opus-5-5"
    sent = fake.log.last
    assert sent.body["metadata"] == {"user_id": "u-1"}
    assert sent.headers["x-custom"] == "kept"
    assert not [name for name in sent.headers if name.startswith("x-tierwise")]


def test_hints_in_default_headers_route_and_are_not_sent(fake: FakeAnthropicServer) -> None:
    fake.reset()
    with tierwise.Anthropic(
        policy=POLICY_FILE,
        base_url=fake.url,
        api_key="test",
        default_headers={"X-Tierwise-Task-Type": "architect", "x-team": "a"},
    ) as sdk:
        routed = sdk.messages.create(model="auto", max_tokens=5, messages=SIMPLE)
        direct = sdk.messages.create(
            model="claude-haiku-4-5",
            max_tokens=5,
            messages=SIMPLE,
            extra_headers={"x-tierwise-task-type": "format"},
        )
    assert (routed.model, direct.model) == ("claude-opus-5-5", "claude-haiku-4-5")
    for request in fake.log.messages():
        assert request.headers["x-team"] == "a"
        assert "x-tierwise-task-type" not in request.headers


def test_concrete_ids_pass_through(client: tierwise.Anthropic, fake: FakeAnthropicServer) -> None:
    message = client.messages.create(
        model="claude-opus-4-8",
        max_tokens=100,
        messages=HARD,
        metadata=with_hints({"tierwise_task_type": "format"}),
        extra_headers={"x-tierwise-domain": "docs"},
    )
    assert message.model == "claude-opus-4-8"
    assert decision_of(message) is None
    assert routed_of(message) is None
    sent = fake.log.last
    assert sent.body == {
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Prove the queue has no race condition"}],
        "model": "claude-opus-4-8",
    }
    assert "x-tierwise-domain" not in sent.headers


def test_routed_bodies_are_sanitised_and_unknown_fields_pass(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    client.messages.create(
        model="auto",
        max_tokens=100,
        messages=HARD,
        tool_choice={"type": "any"},
        tools=[{"name": "grep", "input_schema": {"type": "object"}}],
        extra_body={"temperature": 0.5, "future_field": [1]},
    )
    sent = fake.log.last.body
    assert sent["model"] == "claude-opus-5-5"
    assert sent["tool_choice"] == {"type": "auto"}
    assert "temperature" not in sent  # the SDK speaks API version 2026-10-21
    assert sent["future_field"] == [1]


def test_bad_requests_fail_before_any_request(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    with pytest.raises(InputError, match="messages: at least one message is required"):
        client.messages.create(model="auto", max_tokens=5, messages=[])
    with pytest.raises(UnknownAliasError, match="auto, tierwise-auto"):
        client.messages.create(model="gpt-4o", max_tokens=5, messages=SIMPLE)
    assert len(fake.log) == 0


def test_unknown_alias_is_refused_when_rewrite_mode_is_on(fake: FakeAnthropicServer) -> None:
    policy = load_policy(POLICY_FILE)
    proxy = policy.config.proxy.model_copy(update={"rewrite_concrete_models": True})
    config = policy.config.model_copy(update={"proxy": proxy})
    router = Router(type(policy)(config, policy.source, policy.models, policy.warnings))
    with tierwise.Anthropic(base_url=fake.url, api_key="test", router=router) as sdk:
        message = sdk.messages.create(model="claude-opus-4-8", max_tokens=5, messages=SIMPLE)
        assert message.model == "claude-haiku-5-5"
        assert decision_of(message) is not None
        with pytest.raises(UnknownAliasError, match="auto, tierwise-auto"):
            sdk.messages.create(model="gpt-4o", max_tokens=5, messages=SIMPLE)


def test_stream_helper_routes_and_carries_the_decision(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    manager = client.messages.stream(model="auto", max_tokens=100, messages=HARD)
    assert isinstance(manager, MessageStreamManager)
    with manager as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.startswith("[claude-opus-5-5] ok:")
    assert fake.log.models() == ["claude-opus-5-5"]
    assert fake.log.last.body["stream"] is True
    for obj in (manager, stream, final):
        decision = decision_of(obj)
        assert decision is not None
        assert decision.model == "claude-opus-5-5"


def test_create_with_stream_true_returns_the_sdk_stream(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    stream = client.messages.create(model="auto", max_tokens=100, messages=SIMPLE, stream=True)
    assert isinstance(stream, anthropic.Stream)
    with stream:
        events = [event.type for event in stream]
    assert events[0] == "message_start"
    routed = routed_of(stream)
    assert routed is not None
    assert routed.stream
    assert fake.log.models() == ["claude-haiku-5-5"]


def test_count_tokens_counts_on_the_routed_model(
    client: tierwise.Anthropic, fake: FakeAnthropicServer
) -> None:
    count = client.messages.count_tokens(model="auto", messages=HARD)
    assert isinstance(count, MessageTokensCount)
    assert count.input_tokens > 0
    sent = fake.log.last
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.body["model"] == "claude-opus-5-5"
    decision = decision_of(count)
    assert decision is not None
    assert decision.tier is Tier.OPUS


def test_copies_keep_the_router(client: tierwise.Anthropic) -> None:
    copied = client.with_options(timeout=5)
    assert isinstance(copied, tierwise.Anthropic)
    assert copied.tierwise_router is client.tierwise_router
    with pytest.raises(InputError, match="not both"):
        tierwise.Anthropic(policy=POLICY_FILE, router=Router(), api_key="x")


def test_a_shared_router_pins_across_clients(fake: FakeAnthropicServer) -> None:
    shared = MessagesRouter(Router(load_policy(POLICY_FILE)))
    thinking = {"type": "thinking", "thinking": "t", "signature": "s"}
    history: list[Any] = [
        SIMPLE[0],
        {"role": "assistant", "content": [thinking, {"type": "text", "text": "ok"}]},
        HARD[0],
    ]
    with tierwise.Anthropic(base_url=fake.url, api_key="test", router=shared) as one:
        one.messages.create(model="auto", max_tokens=5, messages=SIMPLE)
    with tierwise.Anthropic(base_url=fake.url, api_key="test", router=shared) as two:
        message = two.messages.create(model="auto", max_tokens=5, messages=history)
    assert message.model == "claude-haiku-5-5"
    routed = routed_of(message)
    assert routed is not None
    assert routed.pinned


class Slotted:
    __slots__ = ("__weakref__",)


def test_objects_without_a_dict_are_tagged_by_weak_reference() -> None:
    routed = MessagesRouter(Router()).route(
        {"model": "auto", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        tierwise.messages.hints.Hints(),
    )
    obj = Slotted()
    attach(obj, routed)
    assert routed_of(obj) is routed
    assert isinstance(routed_of(obj), Routed)
    assert len(client_module._REGISTRY) >= 1
    del obj
    gc.collect()
    assert all(ref() is not None for ref, _ in client_module._REGISTRY.values())
    assert routed_of(object()) is None


@pytest.mark.anyio
async def test_async_client_create_stream_and_count(fake: FakeAnthropicServer) -> None:
    fake.reset()
    async with tierwise.AsyncAnthropic(
        policy=POLICY_FILE, base_url=fake.url, api_key="test", max_retries=0
    ) as client:
        message = await client.messages.create(
            model="auto",
            max_tokens=100,
            messages=SIMPLE,
            extra_headers={"x-tierwise-task-type": "implement"},
        )
        async with client.messages.stream(model="auto", max_tokens=100, messages=HARD) as stream:
            pieces = [piece async for piece in stream.text_stream]
            final = await stream.get_final_message()
        raw = await client.messages.create(
            model="auto", max_tokens=100, messages=SIMPLE, stream=True
        )
        async with raw:
            events = [event.type async for event in raw]
        count = await client.messages.count_tokens(model="auto", messages=SIMPLE)
        copied = client.with_options(max_retries=1)

    assert isinstance(message, Message)
    assert message.model == "claude-sonnet-5-5"
    assert "".join(pieces).startswith("[claude-opus-5-5] ok:")
    assert events[-1] == "message_stop"
    assert fake.log.models() == ["claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5"]
    assert not [h for r in fake.log.messages() for h in r.headers if h.startswith("x-tierwise")]
    for obj, tier in ((message, Tier.SONNET), (stream, Tier.OPUS), (final, Tier.OPUS)):
        decision = decision_of(obj)
        assert decision is not None
        assert decision.tier is tier
    assert decision_of(raw) is not None
    assert isinstance(count, MessageTokensCount)
    count_decision = decision_of(count)
    assert count_decision is not None
    assert count_decision.model == "claude-haiku-5-5"
    assert copied.tierwise_router is client.tierwise_router


def test_the_lazy_exports() -> None:
    assert tierwise.Anthropic.__module__ == "tierwise.client"
    assert issubclass(tierwise.AsyncAnthropic, anthropic.AsyncAnthropic)
    assert "Anthropic" in tierwise.__all__


def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "tierwise.client")
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ImportError, match=r"pip install 'tierwise\[sdk\]'"):
        importlib.import_module("tierwise.client")
