"""Escalation for streaming requests (``[escalation] stream = "buffer"``), over real sockets.

The official SDK streams from the proxy; the fake upstream is scripted per model. In buffer
mode each rung is asked for as JSON and checked, and the caller gets the served answer as a
stream; in ``"no-escalation"`` mode the first answer is relayed byte for byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

import tierwise
from tierwise.ledger.records import DecisionRecord
from tierwise.testing import FakeAnthropicServer, Inject, Reply

from .conftest import CONVERT, HAIKU, SONNET, answers, policy_with, running_proxy

BUFFER = """
[escalation]
enabled = true
stream = "buffer"
[escalation.validators]
"*" = [{ kind = "non_empty" }, { kind = "stop_reason" }]
convert = [{ kind = "json" }]
"""
NO_ESCALATION = BUFFER.replace('stream = "buffer"', 'stream = "no-escalation"')
VALID = '{"service": {"name": "billing", "replicas": 3}}'
BLOCKS: list[dict[str, Any]] = [
    {
        "type": "thinking",
        "thinking": "YAML maps become objects.\n\nKeep the ints.",
        "signature": "c2ln",
    },
    {"type": "text", "text": VALID},
    {
        "type": "tool_use",
        "id": "toolu_01BufferedStreamTest0001",
        "name": "save_file",
        "input": {"path": "billing.json", "body": {"name": "Zürich ✓", "replicas": [3, 4]}},
    },
]
HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}
MESSAGE_ID = re.compile(rb"msg_01[0-9A-Za-z]{22}")


def _sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)


def _stream(url: str, **extra: Any) -> tuple[anthropic.types.Message, list[str]]:
    """The SDK's final message from ``messages.stream()`` and the event types it saw."""
    with (
        _sdk(url) as sdk,
        sdk.messages.stream(
            model="auto", max_tokens=300, messages=[{"role": "user", "content": CONVERT}], **extra
        ) as stream,
    ):
        seen: list[str] = [event.type for event in stream]
        return stream.get_final_message(), seen


def _raw(url: str, content: bytes) -> httpx.Response:
    """A POST read whole with a plain client: the bytes exactly as sent."""
    headers = {**HEADERS, "content-type": "application/json"}
    with httpx.Client(timeout=30) as client:
        return client.post(f"{url}/v1/messages", content=content, headers=headers)


def _upstream_bodies(fake: FakeAnthropicServer) -> list[dict[str, Any]]:
    return [r.body for r in fake.log.snapshot()]


def test_broken_json_from_haiku_reaches_the_client_as_sonnets_stream(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply('{"service": {"name": "billing"', model=HAIKU)
    fake.script.reply(VALID, model=SONNET)
    with running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy:
        message, seen = _stream(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == SONNET
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == VALID  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert seen[0] == "message_start"
    assert seen[-1] == "message_stop"
    assert answers(fake) == [HAIKU, SONNET]
    assert all("stream" not in body for body in _upstream_bodies(fake))  # each rung as JSON
    assert outcome.stream
    assert outcome.status == 200
    assert outcome.served_model == SONNET
    assert [(a.model, a.kind) for a in outcome.attempts] == [
        (HAIKU, "first"),
        (SONNET, "escalation"),
    ]
    first, second = outcome.attempts
    assert [v["validator"] for v in first.verdicts if not v["passed"]] == ["json"]
    assert all(v["passed"] for v in second.verdicts)
    assert outcome.usage is not None
    assert outcome.usage.output_tokens == message.usage.output_tokens
    assert outcome.usage.input_tokens == message.usage.input_tokens
    assert first.cost is not None
    assert second.cost is not None
    assert outcome.total_cost == first.cost.total + second.cost.total
    assert outcome.ttfb is not None  # the first byte left after both attempts had finished
    assert outcome.ttfb >= sum(a.latency for a in outcome.attempts)
    record = DecisionRecord.from_outcome(outcome)
    assert record.stream
    assert [(a["model"], a["kind"]) for a in record.attempts] == [
        (HAIKU, "first"),
        (SONNET, "escalation"),
    ]
    assert record.served_model == SONNET
    assert record.cost_usd == outcome.total_cost


def test_the_buffered_stream_has_the_apis_event_sequence(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("{broken", model=HAIKU)
    fake.script.reply(VALID, model=SONNET)
    body = {
        "model": "auto",
        "max_tokens": 300,
        "stream": True,
        "messages": [{"role": "user", "content": CONVERT}],
    }
    with running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy:
        response = _raw(proxy.url, json.dumps(body).encode())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-tierwise-model"] == SONNET
    frames = [f for f in response.text.split("\n\n") if f]
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert response.text.endswith("\n\n")


def test_thinking_and_tool_use_blocks_round_trip(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    """The streamed Message equals the one the same cascade gives a JSON request."""

    def script() -> None:
        fake.script.reply("cut off", stop_reason="max_tokens", model=HAIKU)
        fake.script.reply(content=BLOCKS, model=SONNET)

    with running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy:
        script()
        streamed, seen = _stream(proxy.url)
        script()
        with _sdk(proxy.url) as sdk:
            whole = sdk.messages.create(
                model="auto", max_tokens=300, messages=[{"role": "user", "content": CONVERT}]
            )
        outcomes = proxy.wait_outcomes(2)
    assert answers(fake) == [HAIKU, SONNET, HAIKU, SONNET]
    assert streamed.model == SONNET
    assert streamed.stop_reason == "tool_use"
    assert [b.model_dump(exclude_none=True) for b in streamed.content] == BLOCKS
    assert streamed.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})
    assert {"thinking", "signature", "input_json"} <= set(seen)
    assert [o.stream for o in outcomes] == [True, False]
    assert [a.kind for a in outcomes[0].attempts] == ["first", "escalation"]


def test_a_passing_first_answer_is_streamed_without_escalating(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply(VALID, model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy:
        message, _ = _stream(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU
    assert message.content[0].text == VALID  # type: ignore[union-attr]
    assert answers(fake) == [HAIKU]
    assert "stream" not in _upstream_bodies(fake)[0]
    assert [a.kind for a in outcome.attempts] == ["first"]
    assert not outcome.escalated


def test_when_the_higher_rung_is_down_the_last_answer_is_streamed(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("{broken", model=HAIKU)
    fake.script.fail(400, model=SONNET)  # not a capacity error: no fallback within the rung
    with running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy:
        message, _ = _stream(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU
    assert message.content[0].text == "{broken"  # type: ignore[union-attr]
    assert [(a.model, a.kind, a.status) for a in outcome.attempts] == [
        (HAIKU, "first", 200),
        (SONNET, "escalation", 400),
    ]
    assert outcome.status == 200


def test_a_first_rung_that_cannot_answer_is_an_api_error_not_a_broken_stream(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.fail(400, message="max_tokens: too large", model=HAIKU)
    with (
        running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy,
        pytest.raises(anthropic.BadRequestError, match="max_tokens: too large"),
    ):
        _stream(proxy.url)
    assert answers(fake) == [HAIKU]


def test_a_stream_that_cannot_climb_is_relayed_as_generated(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    """A free user's ceiling is Haiku: no rung to climb, so buffering would only add latency."""
    fake.script.reply("{broken json answer", model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, BUFFER)) as proxy:
        message, seen = _stream(proxy.url, extra_headers={"x-tierwise-user-tier": "free"})
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU
    assert answers(fake) == [HAIKU]
    assert _upstream_bodies(fake)[0]["stream"] is True
    assert seen.count("text") > 1  # the fake's word-by-word deltas, not one re-encoded delta
    assert not outcome.escalated


def test_no_escalation_mode_relays_byte_for_byte(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    unknown = Inject(3, "future_event", {"type": "future_event", "detail": "kept"})
    reply = Reply("{broken json, as generated", inject=(unknown,))
    fake.script.push(reply, model=HAIKU)
    body = {
        "model": "auto",
        "max_tokens": 300,
        "stream": True,
        "messages": [{"role": "user", "content": CONVERT}],
    }
    with running_proxy(fake, policy_with(tmp_path, NO_ESCALATION)) as proxy:
        relayed = _raw(proxy.url, json.dumps(body).encode())
        (outcome,) = proxy.wait_outcomes(1)
    (sent,) = fake.log.snapshot()
    assert sent.model == HAIKU
    assert sent.body["stream"] is True
    fake.script.push(reply, model=HAIKU)
    direct = _raw(fake.url, sent.raw_body)  # the same request, straight to the upstream
    assert relayed.status_code == direct.status_code == 200
    assert b"event: future_event" in relayed.content
    # the message id is random per response; every other byte is the upstream's
    assert MESSAGE_ID.sub(b"msg_X", relayed.content) == MESSAGE_ID.sub(b"msg_X", direct.content)
    assert [a.kind for a in outcome.attempts] == ["first"]
    assert outcome.stream


def test_the_library_clients_stream_stays_unescalated(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("{broken", model=HAIKU)
    with (
        tierwise.Anthropic(
            policy=policy_with(tmp_path, BUFFER), base_url=fake.url, api_key="k", max_retries=0
        ) as client,
        client.messages.stream(
            model="auto", max_tokens=300, messages=[{"role": "user", "content": CONVERT}]
        ) as stream,
    ):
        text = stream.get_final_text()
    assert text == "{broken"
    assert answers(fake) == [HAIKU]
    assert fake.log.snapshot()[0].body["stream"] is True
