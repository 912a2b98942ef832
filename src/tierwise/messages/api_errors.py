"""Anthropic's error bodies: the error types by HTTP status, making one, recognising one.

One home for everything that reads or makes such bodies: the upstream client, the proxy's
own errors, the library client and the fake API. tierwise's own request ids start with
``req_tierwise_``, distinguishable from Anthropic's ``req_01...``.
"""

from __future__ import annotations

import json
import secrets

REQUEST_ID_PREFIX = "req_tierwise_"

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for(status: int) -> str:
    """The error type Anthropic uses for ``status`` (other 5xx: ``api_error``; 4xx: invalid)."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


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
