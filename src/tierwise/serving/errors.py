"""Errors the proxy makes itself, always in Anthropic's JSON shape with a ``request_id``.

The official SDK and Claude Code parse ``{"type": "error", "error": {"type", "message"},
"request_id"}`` into typed exceptions; a bare 500 or an HTML page would reach the user as an
unreadable failure. Every proxy-made error goes through ``ProxyError`` and ``error_json``.
"""

from __future__ import annotations

from tierwise.messages.api_errors import error_json, is_anthropic_error, new_request_id

__all__ = ["ProxyError", "bad_request", "error_json", "is_anthropic_error", "new_request_id"]


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
