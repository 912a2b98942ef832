"""Errors the proxy makes itself, always in Anthropic's JSON shape with a ``request_id``.

The official SDK and Claude Code parse ``{"type": "error", "error": {"type", "message"},
"request_id"}`` into typed exceptions; a bare 500 or an HTML page would reach the user as an
unreadable failure. Every proxy-made error goes through ``ProxyError`` and ``error_json``.
"""

from __future__ import annotations

import json
import secrets

REQUEST_ID_PREFIX = "req_tierwise_"


class ProxyError(Exception):
    """A request the proxy answers itself: status, Anthropic error type and a message.

    The message is shown to the caller: it must never contain a credential.
    """

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def bad_request(message: str) -> ProxyError:
    """A 400 ``invalid_request_error``."""
    return ProxyError(400, "invalid_request_error", message)


def new_request_id() -> str:
    """A request id of our own, distinguishable from Anthropic's ``req_01...``."""
    return REQUEST_ID_PREFIX + secrets.token_hex(12)


def error_json(error_type: str, message: str, request_id: str) -> bytes:
    """Anthropic's error body."""
    body: dict[str, object] = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def is_anthropic_error(body: bytes) -> bool:
    """Whether ``body`` is already Anthropic's error JSON (then it is relayed untouched)."""
    if body[:1] != b"{":
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "error" and "error" in data
