"""Answers the proxy makes itself: its own errors, in Anthropic's shape with the ``x-tierwise-*``
headers of whatever stage the request reached."""

from __future__ import annotations

from starlette.types import Send

from tierwise.serving.errors import ProxyError
from tierwise.serving.exchange import Exchange
from tierwise.serving.wire import send_error


async def fail(ex: Exchange, send: Send, error: ProxyError) -> None:
    """Answer with ``error`` and note it for the outcome."""
    ex.status, ex.error_type = error.status, error.error_type
    ex.response_started = True
    reason = None if ex.routed else f"refused: {error.error_type}"
    await send_error(send, error, ex.request_id, ex.tierwise_headers(reason))
