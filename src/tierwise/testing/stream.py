"""The SSE event sequence of a streamed message, and the async body that sends it.

The sequence is ``tierwise.messages.sse``'s (the one the proxy's buffered cascade sends too),
with text cut one word per delta and tool input 12 characters per delta so the stream looks live.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import anyio

from tierwise.messages.sse import Event, frame
from tierwise.messages.sse import message_events as encode_message
from tierwise.testing.behaviours import Inject
from tierwise.testing.replies import Generated, message_json

WORDS_PER_CHUNK = 1
JSON_CHUNK_CHARS = 12


class ConnectionDropped(Exception):
    """Raised inside a response body to make the server abort the connection on purpose."""


def message_events(generated: Generated, model: str, message_id: str) -> list[Event]:
    """The full, well-formed event sequence for ``generated``."""
    message = message_json(generated, model, message_id)
    return encode_message(
        message, words_per_delta=WORDS_PER_CHUNK, json_chars_per_delta=JSON_CHUNK_CHARS
    )


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
        yield frame(name, data)
        await anyio.sleep(delay)
    if drop:
        raise ConnectionDropped("the fake Anthropic server dropped the connection on purpose")
