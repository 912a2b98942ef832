"""A whole Message as the SSE event stream the Messages API would have sent for it.

For answers that exist in full before the caller sees a byte: the proxy's buffered cascade
(``[escalation] stream = "buffer"``) and the fake Anthropic server. One encoder for both, so
the stream a caller gets from a checked answer is the one the fake server's tests pin down.

Order and shapes, as the API sends them: ``message_start`` (the message with empty content,
null stop fields, usage with a placeholder ``output_tokens`` of 1), per content block
``content_block_start`` (the block with its streamed fields emptied), ``content_block_delta``×N,
``content_block_stop`` (one ``ping`` after the first block starts), then ``message_delta``
(stop reason and cumulative usage) and ``message_stop``. Deltas: ``citations_delta`` and
``text_delta`` for text, ``thinking_delta`` then ``signature_delta`` for thinking,
``input_json_delta`` for ``tool_use``/``server_tool_use``; any other block (redacted thinking,
tool results, kinds added later) arrives whole in its ``content_block_start``. The official
SDK's ``messages.stream()`` rebuilds the same Message from these events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

Event = tuple[str, dict[str, Any]]

DELTA_USAGE_KEYS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "output_tokens_details",
    "server_tool_use",
)
TOOL_INPUT_BLOCKS = ("tool_use", "server_tool_use")


def message_events(
    message: Mapping[str, Any],
    *,
    words_per_delta: int | None = None,
    json_chars_per_delta: int | None = None,
) -> list[Event]:
    """The event sequence for ``message`` (a Messages API response body).

    Text and thinking go in one delta per block unless ``words_per_delta`` cuts them, tool
    input in one unless ``json_chars_per_delta`` does (the fake server cuts, to look live).
    """
    start = dict(message)
    start.update(content=[], stop_reason=None, stop_sequence=None, stop_details=None)
    usage = message.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    start["usage"] = {**usage, "output_tokens": 1}
    events: list[Event] = [_event("message_start", message=start)]
    content = message.get("content")
    blocks = [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []
    for index, block in enumerate(blocks):
        events.extend(_block_events(index, block, words_per_delta, json_chars_per_delta))
        if index == 0:
            events.insert(2, _event("ping"))
    if not blocks:
        events.append(_event("ping"))
    delta: dict[str, Any] = {
        "stop_reason": message.get("stop_reason"),
        "stop_sequence": message.get("stop_sequence"),
        "stop_details": message.get("stop_details"),
    }
    if message.get("container") is not None:
        delta["container"] = message["container"]
    delta_usage = {key: usage[key] for key in DELTA_USAGE_KEYS if key in usage}
    events.append(_event("message_delta", delta=delta, usage=delta_usage))
    events.append(_event("message_stop"))
    return events


def frame(event: str, data: Mapping[str, Any]) -> bytes:
    """One Server-Sent Event: ``event: X\\ndata: {compact json}\\n\\n``."""
    try:
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: ASCII escapes carry them intact
        payload = json.dumps(data, separators=(",", ":")).encode("ascii")
    return b"event: " + event.encode("utf-8") + b"\ndata: " + payload + b"\n\n"


def encode_events(events: Iterable[Event]) -> bytes:
    """``events`` framed and joined: a complete SSE body."""
    return b"".join(frame(name, data) for name, data in events)


def message_stream(message: Mapping[str, Any]) -> bytes:
    """The complete SSE body for ``message``."""
    return encode_events(message_events(message))


def _event(kind: str, **fields: Any) -> Event:
    return kind, {"type": kind, **fields}


def _block_events(
    index: int, block: Mapping[str, Any], words: int | None, json_chars: int | None
) -> list[Event]:
    kind = block.get("type")
    start = dict(block)
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start["text"] = ""
        citations = block.get("citations")
        if isinstance(citations, list) and citations:
            start["citations"] = []
            deltas = [{"type": "citations_delta", "citation": c} for c in citations]
        pieces = _text_pieces(str(block.get("text", "")), words)
        deltas += [{"type": "text_delta", "text": piece} for piece in pieces]
    elif kind == "thinking":
        start.update(thinking="", signature="")
        pieces = _text_pieces(str(block.get("thinking", "")), words)
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in pieces]
        deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
    elif kind in TOOL_INPUT_BLOCKS:
        start["input"] = {}
        text = json.dumps(block.get("input", {}))
        step = json_chars or len(text) or 1
        pieces = [text[i : i + step] for i in range(0, len(text), step)]
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    return [
        _event("content_block_start", index=index, content_block=start),
        *(_event("content_block_delta", index=index, delta=delta) for delta in deltas),
        _event("content_block_stop", index=index),
    ]


def _text_pieces(text: str, words: int | None) -> list[str]:
    """``text`` cut every ``words`` words (whitespace kept, so the pieces join back exactly),
    or whole; no piece for empty text."""
    if not text:
        return []
    if words is None:
        return [text]
    found = re.findall(r"\s*\S+", text) or [text]
    pieces = ["".join(found[i : i + words]) for i in range(0, len(found), words)]
    pieces[-1] += text[len("".join(pieces)) :]  # trailing whitespace
    return pieces
