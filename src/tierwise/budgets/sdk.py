"""A spent budget as the official SDK's ``anthropic.RateLimitError``, for the library client.

Code written against the SDK already handles a 429 (``except anthropic.RateLimitError``, read
``retry-after``); the library client raises exactly what the same request through the proxy
would produce, built from the same Anthropic error JSON and headers, without any HTTP call.
"""

from __future__ import annotations

import anthropic
import httpx2  # the HTTP library the official SDK's responses and errors are built on

from tierwise.budgets.errors import BudgetExceededError
from tierwise.budgets.wire import refusal_body, refusal_headers


class BudgetRateLimitError(anthropic.RateLimitError):
    """``anthropic.RateLimitError`` for a spent budget; ``budget`` is the tierwise error."""

    budget: BudgetExceededError


def rate_limit_error(
    exc: BudgetExceededError, base_url: str, request_id: str
) -> BudgetRateLimitError:
    """The SDK error a refused request raises (``request_id`` is tierwise's own)."""
    body = refusal_body(exc, request_id)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in refusal_headers(exc)]
    headers += [("content-type", "application/json"), ("request-id", request_id)]
    request = httpx2.Request("POST", base_url.rstrip("/") + "/v1/messages")
    response = httpx2.Response(429, headers=headers, content=body, request=request)
    error = BudgetRateLimitError(exc.message, response=response, body=response.json())
    error.budget = exc
    return error
