"""Streaming ``/v1/messages``: the SSE wire format, and what the SDK sees when a stream breaks."""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import httpx2
import pytest

from tierwise.testing import Drop, FakeAnthropicServer, FakeConfig, Inject, Reply, StreamError

HELLO: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Tell me a short story about a lighthouse keeper and a cat."}
]
BODY: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 300,
    "stream": True,
    "messages": HELLO,
}
HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}


def raw_events(url: str, body: dict[str, Any] = BODY) -> tuple[httpx.Response, list[str]]:
    """The response and its raw SSE frames, read with a plain httpx client."""
    with httpx.stream("POST", f"{url}/v1/messages", json=body, headers=HEADERS) as response:
        text = response.read().decode()
    return response, [frame for frame in text.split("\n\n") if frame]


def parse(frame: str) -> tuple[str, dict[str, Any]]:
    event_line, data_line = frame.split("\n")
    assert event_line.startswith("event: ")
    assert data_line.startswith("data: ")
    data: dict[str, Any] = json.loads(data_line.removeprefix("data: "))
    return event_line.removeprefix("event: "), data


def test_wire_format_follows_the_documented_sequence(fake: FakeAnthropicServer) -> None:
    response, frames = raw_events(fake.url)
    events = [parse(frame) for frame in frames]
    names = [name for name, _ in events]

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    assert all(name == data["type"] for name, data in events)
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [data for name, data in events if name == "content_block_delta"]
    assert len(deltas) >= 3
    assert len(names) == len(deltas) + 6
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_")
    assert start["content"] == []
    assert start["stop_reason"] is None
    assert start["usage"]["output_tokens"] == 1
    assert start["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 0,
    }
    text = "".join(d["delta"]["text"] for d in deltas)
    assert text.startswith("[claude-sonnet-5-5] ok: Tell me a short story")
    final = events[-2][1]
    assert final["delta"] == {
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
    }
    assert final["usage"]["input_tokens"] == start["usage"]["input_tokens"]
    assert final["usage"]["output_tokens"] > 1


def test_sdk_stream_helper_gives_the_full_text_and_final_usage(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    with client.messages.stream(model="claude-haiku-5-5", max_tokens=300, messages=HELLO) as s:
        pieces = list(s.text_stream)
        streamed = s.get_final_message()
    plain = client.messages.create(model="claude-haiku-5-5", max_tokens=300, messages=HELLO)

    assert len(pieces) >= 3
    assert "".join(pieces) == plain.content[0].model_dump()["text"]
    assert streamed.usage.input_tokens == plain.usage.input_tokens
    assert streamed.usage.output_tokens == plain.usage.output_tokens
    assert streamed.stop_reason == "end_turn"
    assert fake.log.messages()[0].body["stream"] is True


def test_sdk_raw_stream_events(client: anthropic.Anthropic) -> None:
    stream = client.messages.create(
        model="claude-opus-5-5", max_tokens=300, messages=HELLO, stream=True
    )
    with stream:
        events = list(stream)

    types = [event.type for event in events]
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"
    assert "ping" not in types  # the SDK skips pings
    delta = events[-2]
    assert isinstance(delta, anthropic.types.RawMessageDeltaEvent)
    assert delta.usage.output_tokens > 1


def test_streamed_tool_use_and_thinking_are_rebuilt_by_the_sdk(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    tool_input = {"location": "San Francisco, CA", "unit": "celsius", "days": [1, 2, 3]}
    fake.script.reply(
        content=[
            {"type": "thinking", "thinking": "I should call the weather tool.", "signature": "s1"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01T1", "name": "get_weather", "input": tool_input},
        ]
    )
    with client.messages.stream(model="claude-opus-5-5", max_tokens=300, messages=HELLO) as s:
        message = s.get_final_message()

    thinking, text, tool = message.content
    assert isinstance(thinking, anthropic.types.ThinkingBlock)
    assert thinking.thinking == "I should call the weather tool."
    assert thinking.signature == "s1"
    assert isinstance(text, anthropic.types.TextBlock)
    assert text.text == "Let me check."
    assert isinstance(tool, anthropic.types.ToolUseBlock)
    assert tool.input == tool_input
    assert tool.id == "toolu_01T1"
    assert message.stop_reason == "tool_use"


def test_streamed_text_stops_at_max_tokens(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="claude-haiku-5-5", max_tokens=5, messages=HELLO) as s:
        message = s.get_final_message()

    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 5


def test_mid_stream_error_event_raises_api_status_error(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.stream_error(after_events=4, error_type="overloaded_error")
    received: list[str] = []

    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model="claude-haiku-5-5", max_tokens=300, messages=HELLO) as s,
    ):
        received.extend(event.type for event in s)

    assert caught.value.status_code == 200
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"
    # four wire events were sent (one a ping the SDK skips); the helper adds a "text" per delta
    assert received == ["message_start", "content_block_start", "content_block_delta", "text"]


def test_stream_error_on_a_non_streaming_request_is_an_http_error(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.push(StreamError(after_events=2, error_type="overloaded_error"))

    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model="claude-haiku-5-5", max_tokens=300, messages=HELLO)


def test_error_event_on_the_wire(fake: FakeAnthropicServer) -> None:
    fake.script.push(StreamError(after_events=1, error_type="api_error", message="boom"))
    response, frames = raw_events(fake.url)

    assert response.status_code == 200
    assert [parse(f)[0] for f in frames] == ["message_start", "error"]
    error = parse(frames[1])[1]
    assert error["error"] == {"type": "api_error", "message": "boom"}
    assert error["request_id"] == response.headers["request-id"]


def test_dropped_stream_raises_a_transport_error_in_the_sdk(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.drop(after_events=3)
    received: list[str] = []

    stream = client.messages.create(
        model="claude-haiku-5-5", max_tokens=300, messages=HELLO, stream=True
    )  # the status line and headers arrived: the SDK has nothing to complain about yet

    # The SDK does not wrap errors raised while a stream is read: this is httpx2's own.
    with stream, pytest.raises(httpx2.RemoteProtocolError):
        received.extend(event.type for event in stream)

    assert received == ["message_start", "content_block_start"]  # the third event was a ping
    assert client.messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)


def test_dropped_stream_before_any_event(fake: FakeAnthropicServer) -> None:
    fake.script.push(Drop(after_events=0))

    with pytest.raises(httpx.RemoteProtocolError):
        raw_events(fake.url)


def test_unknown_event_types_reach_a_raw_client_and_pass_through_the_sdk(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    future = Inject(after_events=2, event="future_event", data={"type": "future_event", "x": 1})
    fake.script.push(Reply(inject=[future]), Reply(inject=[future]))

    _, frames = raw_events(fake.url)
    assert parse(frames[2]) == ("future_event", {"type": "future_event", "x": 1})

    with client.messages.stream(model="claude-haiku-5-5", max_tokens=300, messages=HELLO) as s:
        types = [event.type for event in s]
        message = s.get_final_message()
    assert "future_event" in types
    assert message.stop_reason == "end_turn"


def test_chunks_arrive_as_they_are_sent(fake: FakeAnthropicServer) -> None:
    fake.script.push(Reply(text="one two three four five six seven eight", chunk_delay=0.05))
    arrivals: list[float] = []
    with httpx.stream("POST", f"{fake.url}/v1/messages", json=BODY, headers=HEADERS) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                arrivals.append(time.monotonic())

    assert len(arrivals) == 14  # one text delta per word
    assert arrivals[-1] - arrivals[0] >= 0.05 * 13  # spread out in time, not one buffered burst


def test_config_chunk_delay_applies_by_default() -> None:
    with FakeAnthropicServer(FakeConfig(chunk_delay=0.05)) as fake:
        started = time.monotonic()
        _, frames = raw_events(fake.url)
        elapsed = time.monotonic() - started

    assert elapsed >= 0.05 * (len(frames) - 1)
