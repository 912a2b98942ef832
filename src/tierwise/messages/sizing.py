"""The prompt size a decision is made with: the API's count when one was made, else the
offline estimate times the policy's correction factor.

The count travels in the ``RouteRequest``'s ``metadata`` (under ``COUNTED``) rather than in
``context_tokens``, so the request keeps the raw estimate beside it: records store both, and the
estimate's error stays measurable.
"""

from __future__ import annotations

import dataclasses

from tierwise.core.request import RouteRequest
from tierwise.core.tokens import corrected

COUNTED = "tierwise.counted_context_tokens"


def counted_tokens(request: RouteRequest) -> int | None:
    """The API's count for ``request``'s prompt, if one was made."""
    value = request.metadata.get(COUNTED)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def with_count(request: RouteRequest, tokens: int) -> RouteRequest:
    """``request`` carrying the API's count of its prompt (the raw estimate is kept)."""
    return dataclasses.replace(request, metadata={**request.metadata, COUNTED: tokens})


def sized(request: RouteRequest, factor: float) -> RouteRequest:
    """The request routing decides with: ``context_tokens`` is the count if there is one, else
    the estimate corrected by ``factor``; ``request`` itself when neither changes anything."""
    count = counted_tokens(request)
    if count is not None:
        tokens: int | None = count
    elif request.context_tokens is not None:
        tokens = corrected(request.context_tokens, factor)
    else:
        return request
    if tokens == request.context_tokens:
        return request
    return dataclasses.replace(request, context_tokens=tokens)
