"""What can go wrong upstream, as typed errors (aiohttp's are translated in ``upstream``, once).

UpstreamError              (a TierwiseError) the upstream could not give a usable answer
├── UpstreamTimeout        connect, read or pool timeout
├── UpstreamUnavailable    connection refused, reset, dropped mid-response, bad protocol
└── UpstreamStatusError    a non-2xx status; carries status, body and headers
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tierwise.core.errors import TierwiseError
from tierwise.messages.api_errors import error_type_for

Header = tuple[bytes, bytes]


class UpstreamError(TierwiseError):
    """The upstream gave no usable answer. ``retries`` says how many retries preceded it."""

    error_type = "api_error"
    status: int | None = None

    def __init__(self, message: str, *, retries: int = 0) -> None:
        super().__init__(message)
        self.retries = retries

    @property
    def fallback_eligible(self) -> bool:
        """Whether another model may succeed where this one failed (capacity, not the request)."""
        return True


class UpstreamTimeout(UpstreamError):
    """Connecting, sending, reading or waiting for a pooled connection took too long."""

    error_type = "timeout_error"


class UpstreamUnavailable(UpstreamError):
    """No complete response: refused, reset, dropped mid-body, or not HTTP."""

    error_type = "api_error"


class UpstreamStatusError(UpstreamError):
    """A non-2xx answer, kept whole so the proxy can relay it byte for byte."""

    def __init__(
        self, status: int, body: bytes, headers: Sequence[Header], *, retries: int = 0
    ) -> None:
        super().__init__(f"the upstream answered HTTP {status}", retries=retries)
        self.status = status
        self.body = body
        self.headers = list(headers)
        self.error_type = _body_error_type(body) or error_type_for(status)

    @property
    def fallback_eligible(self) -> bool:
        """Rate limits, overload and server errors; never a 4xx about the request itself."""
        assert self.status is not None
        return self.status == 429 or self.status >= 500


def _body_error_type(body: bytes) -> str | None:
    """``error.type`` from Anthropic's error JSON, if the body is that."""
    if not body or body[:1] != b"{":
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None
