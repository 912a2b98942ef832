"""The SSE event sequence of a streamed message, and the async body that sends it.

Order, as the API sends it: ``message_start`` (usage with a placeholder ``output_tokens`` of
1), then per content block ``content_block_start``, ``content_block_delta``×N,
``content_block_stop`` (with one ``ping`` after the first block starts), then
``message_delta`` (stop reason and cumulative usage) and ``message_stop``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio

from tierwise.testing.behaviours import Inject
from tierwise.testing.replies import Generated, message_json
from tierwise.testing.wire import sse

Event = tuple[str, dict[str, Any]]

WORDS_PER_CHUNK = 1
JSON_CHUNK_CHARS = 12
DELTA_USAGE_KEYS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "output_tokens_details",
    "server_tool_use",
)


class ConnectionDropped(Exception):
    """Raised inside a response body to make the server abort the connection on purpose."""


def message_events(generated: Generated, model: str, message_id: str) -> list[Event]:
    """The full, well-formed event sequence for ``generated``."""
    start = message_json(generated, model, message_id)
    start.update(content=[], stop_reason=None, stop_sequence=None, stop_details=None)
    start["usage"] = {**generated.usage, "output_tokens": 1}
    events: list[Event] = [_event("message_start", message=start)]
    for index, block in enumerate(generated.content):
        events.extend(_block_events(index, block))
        if index == 0:
            events.insert(2, _event("ping"))
    if not generated.content:
        events.append(_event("ping"))
    delta = {
        "stop_reason": generated.stop_reason,
        "stop_sequence": generated.stop_sequence,
        "stop_details": generated.stop_details,
    }
    usage = {key: generated.usage[key] for key in DELTA_USAGE_KEYS if key in generated.usage}
    events.append(_event("message_delta", delta=delta, usage=usage))
    events.append(_event("message_stop"))
    return events


def with_injections(events: list[Event], injections: Sequence[Inject]) -> list[Event]:
    """``events`` with each injected event placed after its ``after_events``-th event."""
    result = list(events)
    for inject in sorted(injections, key=lambda i: i.after_events, reverse=True):
        data = dict(inject.data) if inject.data is not None else {"type": inject.event}
        result.insert(min(inject.after_events, len(result)), (inject.event, data))
    return result


async def sse_body(
    events: Sequence[Event], delay: float, *, drop: bool = False
) -> AsyncIterator[bytes]:
    """Send ``events`` one by one, yielding to the loop (and sleeping ``delay``) after each.

    With ``drop``, raise ``ConnectionDropped`` after the last one instead of ending cleanly.
    """
    for name, data in events:
        yield sse(name, data)
        await anyio.sleep(delay)
    if drop:
        raise ConnectionDropped("the fake Anthropic server dropped the connection on purpose")


def _event(kind: str, **fields: Any) -> Event:
    return kind, {"type": kind, **fields}


def _block_events(index: int, block: dict[str, Any]) -> list[Event]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    start = dict(block)
    if kind == "text":
        start["text"] = ""
        deltas = [{"type": "text_delta", "text": piece} for piece in _word_chunks(block["text"])]
    elif kind == "thinking":
        start.update(thinking="", signature="")
        chunks = _word_chunks(block.get("thinking", ""))
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in chunks]
        deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
    elif kind in ("tool_use", "server_tool_use"):
        start["input"] = {}
        text = json.dumps(block.get("input", {}))
        pieces = [text[i : i + JSON_CHUNK_CHARS] for i in range(0, len(text), JSON_CHUNK_CHARS)]
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    return [
        _event("content_block_start", index=index, content_block=start),
        *(_event("content_block_delta", index=index, delta=delta) for delta in deltas),
        _event("content_block_stop", index=index),
    ]


def _word_chunks(text: str) -> list[str]:
    words = re.findall(r"\s*\S+", text) or ([text] if text else [])
    step = WORDS_PER_CHUNK
    chunks = ["".join(words[i : i + step]) for i in range(0, len(words), step)]
    if chunks and "".join(chunks) != text:  # keep trailing whitespace so the text is exact
        chunks[-1] += text[len("".join(chunks)) :]
    return chunks
