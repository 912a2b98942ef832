"""ASGI plumbing shared by the handlers: read a bounded body, send a whole response.

Handlers speak raw ASGI rather than through ``Request``/``Response`` objects because they need
what those hide: the raw header list (forwarded byte for byte), a body limit enforced while
the body streams in, and the moment the response is finished (for the outcome hook).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from starlette.types import Receive, Send

from tierwise.serving.errors import ProxyError, error_json
from tierwise.serving.headers import Header
from tierwise.serving.upstream import UpstreamResponse

JSON: Header = (b"content-type", b"application/json")


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


def header(headers: Sequence[Header], name: bytes) -> str | None:
    """The first value of ``name`` (lower-case) in ASGI ``headers``, decoded as latin-1."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def too_large(limit: int) -> ProxyError:
    """The 413 Anthropic (Cloudflare, in fact) answers for an oversized body."""
    return ProxyError(
        413, "request_too_large", f"Request exceeds the maximum allowed size of {limit:,} bytes"
    )


async def read_body(receive: Receive, headers: Sequence[Header], limit: int) -> bytes:
    """The whole request body, refusing (413) one over ``limit`` bytes as early as possible:
    from ``content-length`` before reading, else as soon as the chunks read pass the limit."""
    declared = header(headers, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_bytes(send: Send, status: int, headers: list[Header], body: bytes) -> None:
    """A complete response with a ``content-length``."""
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(
    send: Send, error: ProxyError, request_id: str, extra: list[Header] | None = None
) -> None:
    """A proxy-made error in Anthropic's shape, with our ``request-id``."""
    headers = [JSON, (b"request-id", request_id.encode("ascii")), *(extra or [])]
    await send_bytes(
        send, error.status, headers, error_json(error.error_type, error.message, request_id)
    )


class ClientWatch:
    """Cancels the serving task when the client disconnects, until ``stop``.

    One plain asyncio task waiting on ``receive`` (the proxy always runs on asyncio): an anyio
    task group per request cost about a tenth of the proxy's CPU. ``done`` is asked when the
    disconnect arrives; the server also reports one after a finished response, which must not
    cancel anything. Use it from the task it should cancel, and always ``stop`` it.
    """

    __slots__ = ("_done", "_task", "_watcher", "gone")

    def __init__(self, receive: Receive, done: Callable[[], bool] = lambda: False) -> None:
        task = asyncio.current_task()
        assert task is not None, "ClientWatch runs inside a task"
        self._task = task
        self._done = done
        self.gone = False
        self._watcher = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self._done():
            self.gone = True
            self._task.cancel()

    def stop(self) -> None:
        """Stop watching; after a disconnect, take back the cancellation it caused (the caller
        has caught its ``CancelledError``, or it is still pending and is withdrawn here)."""
        self._watcher.cancel()
        if self.gone:
            self._task.uncancel()


async def unless_client_leaves(
    receive: Receive, work: Callable[[], Awaitable[UpstreamResponse]]
) -> UpstreamResponse:
    """``work()`` (opening the upstream response), cancelled if the client hangs up first: a
    long answer would otherwise keep generating (and billing) for nobody. Raises
    ``ClientGone`` then."""
    watch = ClientWatch(receive)
    response: UpstreamResponse | None = None
    try:
        response = await work()
    except asyncio.CancelledError:
        if not watch.gone:
            raise  # cancelled from outside (shutdown): not ours to swallow
    finally:
        watch.stop()
    if watch.gone:
        if response is not None:
            await response.aclose()
        raise ClientGone
    assert response is not None
    return response
