"""The error types Anthropic's API puts in its error bodies, by HTTP status.

One table for everything that reads or makes such bodies: the upstream client, the proxy's
own errors and the fake API.
"""

from __future__ import annotations

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
