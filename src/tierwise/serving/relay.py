"""The streaming relay: upstream SSE bytes go to the client as they arrive, usage is read aside.

Chunks are forwarded whole, only cut at event boundaries (a partial event is held until its
end arrives), so that when the upstream breaks mid-stream the ``event: error`` the proxy adds
is never glued onto half an event. Only ``message_start`` (input and cache usage, with the
5m/1h write split), ``message_delta`` (cumulative counts; the last one wins) and ``error``
events are parsed; every other event, known or not, passes through untouched.

A client that disconnects cancels the pump, and the upstream response is closed, which
closes its connection: the upstream stops generating (and billing) for nobody.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Send

from tierwise.core.errors import InvalidUsageError
from tierwise.core.usage import Usage
from tierwise.serving.errors import error_json
from tierwise.serving.headers import Header
from tierwise.serving.upstream import UpstreamError, UpstreamResponse
from tierwise.serving.wire import ClientWatch

MAX_HELD = 1 << 20  # a "partial event" this large means the framing is not what we expect
_INTERESTING = (b"message_start", b"message_delta", b"event: error", b"event:error")
_DELTA = b'"delta":{"type":"'
# '"delta":{"type":"text_delta","text":""}}' less the content: the framing of one delta
_DELTA_FRAME = len(b'"delta":{"type":"text_delta","text":""}}')
BYTES_PER_TOKEN = 4  # the usual ratio for English text and code


class SseTap:
    """Cuts an SSE byte stream at event boundaries and remembers usage and errors."""

    def __init__(self) -> None:
        self._held = b""
        self.mid_event = False  # whether the bytes released so far end inside an event
        self.start_usage: dict[str, Any] | None = None
        self.delta_usage: dict[str, Any] | None = None
        self.error_type: str | None = None
        self.delta_bytes = 0  # content relayed in content_block_delta events, roughly
        self.estimated = False  # usage() counted output from the deltas relayed

    def push(self, chunk: bytes) -> bytes:
        """The bytes ready to send: everything up to the last complete event."""
        data = self._held + chunk if self._held else chunk
        cut = _boundary(data)
        if not cut and len(data) > MAX_HELD:
            self._held, self.mid_event = b"", True
            return data
        if not cut:
            self._held = data
            return b""
        ready, self._held = data[:cut], data[cut:]
        self.mid_event = False
        if self.delta_usage is None:  # until the final counts arrive, measure what is relayed
            self.delta_bytes += _delta_bytes(ready)
        if any(marker in ready for marker in _INTERESTING):
            self._inspect(ready)
        return ready

    def flush(self) -> bytes:
        """What is held at the end of the stream (an unterminated last event)."""
        rest, self._held = self._held, b""
        if rest:
            self.mid_event = True
            self._inspect(rest + b"\n\n")
        return rest

    def error_frame(self, error_type: str, message: str, request_id: str) -> bytes:
        """An ``event: error`` that starts on an event boundary."""
        frame = b"event: error\ndata: " + error_json(error_type, message, request_id) + b"\n\n"
        return b"\n\n" + frame if self.mid_event else frame

    def usage(self) -> Usage | None:
        """The stream's usage: ``message_start``'s, overlaid with the last ``message_delta``'s.

        A stream that ended before its ``message_delta`` (the client left, the upstream broke)
        was still billed for what was generated: its output tokens are then estimated from the
        deltas relayed (``estimated`` says so), never left at ``message_start``'s placeholder.
        """
        if self.start_usage is None and self.delta_usage is None:
            return None
        counts = {**(self.start_usage or {}), **(self.delta_usage or {})}
        if self.delta_usage is None and self.delta_bytes:
            relayed = -(-self.delta_bytes // BYTES_PER_TOKEN)
            start_output = counts.get("output_tokens")
            if not isinstance(start_output, int) or relayed > start_output:
                counts["output_tokens"] = relayed
                self.estimated = True
        try:
            return Usage.from_api(counts)
        except InvalidUsageError:
            return None

    def _inspect(self, block: bytes) -> None:
        event: bytes | None = None
        data: list[bytes] = []
        for line in block.splitlines():
            if not line:
                if data:
                    self._event(event, b"\n".join(data))
                event, data = None, []
            elif line.startswith(b"event:"):
                event = line[6:].strip()
            elif line.startswith(b"data:"):
                data.append(line[5:].removeprefix(b" "))

    def _event(self, event: bytes | None, data: bytes) -> None:
        if event not in (b"message_start", b"message_delta", b"error"):
            return
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if not isinstance(payload, dict):
            return
        if event == b"message_start":
            message = payload.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            self.start_usage = usage if isinstance(usage, dict) else self.start_usage
        elif event == b"message_delta":
            usage = payload.get("usage")
            self.delta_usage = usage if isinstance(usage, dict) else self.delta_usage
        else:
            error = payload.get("error")
            kind = error.get("type") if isinstance(error, dict) else None
            self.error_type = kind if isinstance(kind, str) else "api_error"


def _delta_bytes(ready: bytes) -> int:
    """The bytes of generated content in the ``content_block_delta`` events of ``ready``: each
    delta object's length less its fixed framing (a few bytes of escapes are counted too)."""
    total = 0
    at = ready.find(_DELTA)
    while at >= 0:
        end = ready.find(b"\n", at)
        end = len(ready) if end < 0 else end
        total += max(0, end - at - _DELTA_FRAME)
        at = ready.find(_DELTA, end)
    return total


def _boundary(data: bytes) -> int:
    """The offset just after the last blank line (``\\n\\n`` or ``\\r\\n\\r\\n``), else 0."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0)


@dataclass(slots=True)
class StreamResult:
    """How a relayed stream ended."""

    tap: SseTap
    ttfb: float | None = None  # seconds from ``started`` to the first byte sent
    broken: UpstreamError | None = None  # the upstream failed mid-stream
    client_gone: bool = False
    finished: bool = False  # the last byte was handed to the server


async def relay_stream(
    response: UpstreamResponse,
    headers: list[Header],
    send: Send,
    receive: Receive,
    *,
    started: float,
    request_id: str,
    observe: Callable[[bytes], None] | None = None,
) -> StreamResult:
    """Send the status and ``headers`` now, then the body as it arrives; always closes
    ``response``. A client disconnect cancels the relay (no exception escapes). ``observe``
    gets a copy of each event-aligned chunk sent (shadow evaluation keeps sampled answers)."""
    result = StreamResult(SseTap())
    watch: ClientWatch | None = None
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        # the server reports "disconnect" once the response is finished, too: not a leaving
        watch = ClientWatch(receive, done=lambda: result.finished)
        try:
            await _pump(response, send, result, started, request_id, observe)
        except asyncio.CancelledError:
            if not watch.gone:
                raise
            result.client_gone = True
    finally:
        if watch is not None:
            watch.stop()
        await response.aclose()  # synchronous inside: runs to the end even when cancelled
    return result


async def _pump(
    response: UpstreamResponse,
    send: Send,
    result: StreamResult,
    started: float,
    request_id: str,
    observe: Callable[[bytes], None] | None,
) -> None:
    tap = result.tap
    try:
        async for chunk in response.iter_bytes():
            ready = tap.push(chunk)
            if ready:
                if result.ttfb is None:
                    result.ttfb = time.perf_counter() - started
                if observe is not None:
                    observe(ready)
                await send({"type": "http.response.body", "body": ready, "more_body": True})
        rest = tap.flush()
        if observe is not None and rest:
            observe(rest)
    except UpstreamError as exc:
        result.broken = exc
        rest = tap.error_frame(exc.error_type, f"upstream stream broke: {exc}", request_id)
    result.finished = True
    await send({"type": "http.response.body", "body": rest, "more_body": False})
