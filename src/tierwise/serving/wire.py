"""ASGI plumbing shared by the handlers: read a bounded body, send a whole response.

Handlers speak raw ASGI rather than through ``Request``/``Response`` objects because they need
what those hide: the raw header list (forwarded byte for byte), a body limit enforced while
the body streams in, and the moment the response is finished (for the outcome hook).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio
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


async def unless_client_leaves(
    receive: Receive, work: Callable[[], Awaitable[UpstreamResponse]]
) -> UpstreamResponse:
    """``work()`` (opening the upstream response), cancelled if the client hangs up first: a
    long answer would otherwise keep generating (and billing) for nobody. Raises
    ``ClientGone`` then."""
    response: UpstreamResponse | None = None
    failure: Exception | None = None
    gone = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            response = await work()
        except Exception as exc:  # re-raised below as itself, not in an ExceptionGroup
            failure = exc
        group.cancel_scope.cancel()
    if gone:
        if response is not None:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        raise ClientGone
    if failure is not None:
        raise failure
    assert response is not None
    return response
