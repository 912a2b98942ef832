"""The SSE tap on its own: event boundaries, usage from the right events, error frames."""

from __future__ import annotations

import json
from typing import Any

from tierwise.serving.relay import SseTap


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


START = event(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 300,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 100,
                    "ephemeral_1h_input_tokens": 200,
                },
                "cache_read_input_tokens": 2048,
                "output_tokens": 1,
            }
        },
    },
)
DELTA = event("content_block_delta", {"type": "content_block_delta", "delta": {"text": "hi"}})


def final(output: int) -> bytes:
    usage = {
        "input_tokens": 25,
        "cache_creation_input_tokens": 300,
        "cache_read_input_tokens": 2048,
        "output_tokens": output,
    }
    return event("message_delta", {"type": "message_delta", "delta": {}, "usage": usage})


def test_whole_events_pass_unchanged() -> None:
    tap = SseTap()
    stream = START + DELTA + final(89) + event("message_stop", {"type": "message_stop"})
    assert tap.push(stream) == stream
    assert tap.flush() == b""


def test_a_partial_event_is_held_until_it_completes() -> None:
    tap = SseTap()
    cut = len(DELTA) // 2
    assert tap.push(START + DELTA[:cut]) == START
    assert tap.mid_event is False
    assert tap.push(DELTA[cut:]) == DELTA
    out = b"".join(tap.push(bytes([byte])) for byte in DELTA)
    assert out == DELTA


def test_crlf_framing_is_understood() -> None:
    tap = SseTap()
    framed = START.replace(b"\n", b"\r\n")
    assert tap.push(framed) == framed
    usage = tap.usage()
    assert usage is not None
    assert usage.input_tokens == 25


def test_usage_takes_the_ttl_split_from_start_and_counts_from_the_last_delta() -> None:
    tap = SseTap()
    tap.push(START + DELTA + final(10) + final(89))
    usage = tap.usage()
    assert usage is not None
    assert usage.input_tokens == 25
    assert usage.cache_write_5m_tokens == 100
    assert usage.cache_write_1h_tokens == 200
    assert usage.cache_read_tokens == 2048
    assert usage.output_tokens == 89


def test_no_usage_without_usage_events() -> None:
    tap = SseTap()
    tap.push(DELTA)
    assert tap.usage() is None


def test_error_events_are_noticed_and_passed_through() -> None:
    tap = SseTap()
    error = event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
    assert tap.push(START + error) == START + error
    assert tap.error_type == "overloaded_error"


def test_unknown_and_malformed_events_pass_untouched() -> None:
    tap = SseTap()
    weird = b"event: message_delta\ndata: {not json\n\n" + b": comment\n\n" + b"data: x\n\n"
    assert tap.push(weird) == weird
    assert tap.usage() is None


def test_an_error_frame_starts_on_a_boundary() -> None:
    tap = SseTap()
    tap.push(START)
    clean = tap.error_frame("api_error", "broke", "req_tierwise_1")
    assert clean.startswith(b"event: error\ndata: ")
    data = json.loads(clean.split(b"data: ", 1)[1])
    assert data == {
        "type": "error",
        "error": {"type": "api_error", "message": "broke"},
        "request_id": "req_tierwise_1",
    }
    tap.push(b"event: content_block_delta\ndata: {")
    tap.flush()  # the stream ended inside an event: the frame must not be glued onto it
    assert tap.error_frame("api_error", "broke", "r").startswith(b"\n\nevent: error")


def test_an_unframed_stream_is_not_held_forever() -> None:
    tap = SseTap()
    blob = b"x" * (1 << 20)
    assert tap.push(blob) == b""
    assert tap.push(b"y") == blob + b"y"
    assert tap.mid_event
