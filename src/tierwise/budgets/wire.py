"""How a refusal looks on the wire: Anthropic's error JSON and the headers that go with it.

``retry-after`` is the seconds until the month resets; ``x-should-retry: false`` tells the
official SDKs not to spend their automatic retries on a budget that cannot refill in seconds.
"""

from __future__ import annotations

import json

from tierwise.budgets.errors import BudgetExceededError

ERROR_TYPE = "rate_limit_error"
STATUS = 429


def refusal_body(exc: BudgetExceededError, request_id: str) -> bytes:
    """Anthropic's error body for a spent budget."""
    body = {
        "type": "error",
        "error": {"type": ERROR_TYPE, "message": exc.message},
        "request_id": request_id,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def refusal_headers(exc: BudgetExceededError) -> list[tuple[bytes, bytes]]:
    """``retry-after`` and ``x-should-retry`` (raw, lower-case, for ASGI)."""
    return [
        (b"retry-after", str(exc.retry_after).encode("ascii")),
        (b"x-should-retry", b"false"),
    ]
