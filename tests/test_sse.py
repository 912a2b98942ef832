"""A whole Message as SSE: the official SDK's ``messages.stream()`` rebuilds the same Message.

The proxy-level tests (``tests/cascade/test_stream_buffer.py``) cover text, thinking and
tool_use over sockets; here the rarer blocks go through the SDK via an ``httpx2`` mock
transport (the SDK's HTTP stack).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx2

from tierwise.messages.sse import encode_events, frame, message_events, message_stream

USAGE: dict[str, Any] = {
    "input_tokens": 812,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 2048,
    "cache_creation": {"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 40},
    "output_tokens": 231,
    "output_tokens_details": {"thinking_tokens": 17},
    "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
    "service_tier": "standard",
}
MESSAGE: dict[str, Any] = {
    "id": "msg_01SseEncoderTest000000001",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5-5",
    "content": [
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_01SseEncoderTest0001",
            "name": "web_search",
            "input": {"query": "Zürich population 2026"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_01SseEncoderTest0001",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://example.org/zurich",
                    "title": "Zürich",
                    "encrypted_content": "EqgfCioIARgB",
                    "page_age": "April 30, 2026",
                }
            ],
        },
        {
            "type": "text",
            "text": "About 450,000 people live in Zürich.",
            "citations": [
                {
                    "type": "web_search_result_location",
                    "url": "https://example.org/zurich",
                    "title": "Zürich",
                    "encrypted_index": "Eo8BCioIAhgB",
                    "cited_text": "Zürich has about 450,000 inhabitants",
                }
            ],
        },
        {"type": "text", "text": " Anything else?\n"},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "stop_details": None,
    "container": {"id": "container_01SseEncoderTest", "expires_at": "2026-11-30T12:00:00Z"},
    "diagnostics": None,
    "usage": USAGE,
}


@contextmanager
def sdk_serving(body: bytes) -> Iterator[anthropic.Anthropic]:
    """The official SDK whose every request is answered with the SSE ``body``."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    with anthropic.Anthropic(
        api_key="k", base_url="http://anthropic.test", http_client=http
    ) as sdk:
        yield sdk


def final_message(body: bytes) -> anthropic.types.Message:
    with (
        sdk_serving(body) as sdk,
        sdk.messages.stream(
            model="claude-sonnet-5-5", max_tokens=100, messages=[{"role": "user", "content": "q"}]
        ) as stream,
    ):
        return stream.get_final_message()


def test_rarer_blocks_usage_and_container_round_trip_through_the_sdk() -> None:
    streamed = final_message(message_stream(MESSAGE))
    expected = anthropic.types.Message.model_validate(MESSAGE)
    assert streamed.model_dump() == expected.model_dump()
    assert streamed.usage.output_tokens == USAGE["output_tokens"]  # not the start's placeholder
    assert streamed.content[3].citations is not None  # type: ignore[union-attr]


def test_deltas_carry_only_what_streams() -> None:
    events = message_events(MESSAGE)
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts[0] == MESSAGE["content"][0]  # redacted thinking arrives whole
    assert starts[1]["input"] == {}  # tool input streams as JSON text
    assert starts[2] == MESSAGE["content"][2]  # a tool result arrives whole
    assert (starts[3]["text"], starts[3]["citations"]) == ("", [])
    start = events[0][1]["message"]
    assert (start["content"], start["stop_reason"], start["usage"]["output_tokens"]) == (
        [],
        None,
        1,
    )
    delta = next(data for name, data in events if name == "message_delta")
    assert delta["delta"]["container"] == MESSAGE["container"]
    assert "cache_creation" not in delta["usage"]  # the TTL split is message_start's


def test_an_empty_answer_is_a_valid_stream() -> None:
    message = {**MESSAGE, "content": [], "container": None}
    events = message_events(message)
    assert [name for name, _ in events] == [
        "message_start",
        "ping",
        "message_delta",
        "message_stop",
    ]
    assert final_message(encode_events(events)).content == []


def test_cut_deltas_join_back_exactly() -> None:
    text = "  one two\tthree  four \n"
    tool = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": "ü" * 9, "b": [1, 2]}}
    message = {**MESSAGE, "content": [{"type": "text", "text": text}, tool], "container": None}
    events = message_events(message, words_per_delta=2, json_chars_per_delta=5)
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    texts = [d["text"] for d in deltas if d["type"] == "text_delta"]
    pieces = [d["partial_json"] for d in deltas if d["type"] == "input_json_delta"]
    assert len(texts) == 2
    assert "".join(texts) == text
    assert all(len(piece) <= 5 for piece in pieces)
    assert json.loads("".join(pieces)) == tool["input"]
    content = final_message(encode_events(events)).content
    assert [block.model_dump(exclude_none=True) for block in content] == message["content"]


def test_lone_surrogates_survive_framing() -> None:
    data = {"type": "content_block_delta", "delta": {"text": "bad \ud800 half"}}
    framed = frame("content_block_delta", data)
    assert framed.isascii()
    name, payload = framed.decode().removesuffix("\n\n").split("\n")
    assert name == "event: content_block_delta"
    assert json.loads(payload.removeprefix("data: ")) == data
