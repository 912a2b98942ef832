"""Small pieces of Anthropic's wire format: ids, error bodies, rate-limit headers
(SSE framing is ``tierwise.messages.sse``'s)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id(prefix: str) -> str:
    """An id shaped like the API's: ``msg_01…``, ``req_01…``, ``toolu_01…`` (24 random chars)."""
    return prefix + "_01" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def dumps(data: Any) -> str:
    """Compact JSON, as the API sends it."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class ApiError(Exception):
    """An error to answer with Anthropic's error body; raised by validation, caught by the app."""

    def __init__(
        self, status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = dict(headers or {})


def error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    """``{"type": "error", "error": {...}, "request_id": ...}``, the shape of every API error."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }


def error_response(error: ApiError, request_id: str) -> Response:
    """The HTTP response for ``error``, with its ``request-id`` header."""
    body = dumps(error_body(error.error_type, error.message, request_id))
    headers = {"request-id": request_id, **error.headers}
    return Response(body, error.status, headers, media_type="application/json")


def ratelimit_headers(limit: int, used: int, tokens_limit: int, tokens: int) -> dict[str, str]:
    """``anthropic-ratelimit-*`` headers for a request that was let through."""
    reset = (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)
    stamp = reset.isoformat().replace("+00:00", "Z")
    headers: dict[str, str] = {}
    for name, cap, spent in (
        ("requests", limit, used),
        ("tokens", tokens_limit, tokens),
        ("input-tokens", tokens_limit, tokens),
        ("output-tokens", tokens_limit // 5, 0),
    ):
        headers[f"anthropic-ratelimit-{name}-limit"] = str(cap)
        headers[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, cap - spent))
        headers[f"anthropic-ratelimit-{name}-reset"] = stamp
    return headers
