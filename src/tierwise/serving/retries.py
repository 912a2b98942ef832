"""When to try an upstream request again, and how long to wait: ``x-should-retry``,
``retry-after-ms`` / ``retry-after``, else exponential backoff with jitter, within a bounded
number of attempts and a bounded total wait."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from tierwise.serving.upstream_errors import UpstreamError, UpstreamStatusError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one model before giving up (and, in the proxy, falling back).

    ``max_retries`` is used when no fallback model is left; ``retries_before_fallback`` when
    one is, so a caller is not kept waiting on a failing model while another could answer.
    ``max_total_wait`` bounds the seconds spent sleeping between attempts of one ``send``;
    a ``retry-after`` longer than what is left ends the retries instead of being obeyed.
    """

    max_retries: int = 2
    retries_before_fallback: int = 1
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_total_wait: float = 30.0


@dataclass(frozen=True, slots=True)
class _Hint:
    """What the upstream said about retrying: ``x-should-retry`` and the delay it asked for."""

    should_retry: bool | None = None
    delay: float | None = None


def _hint(exc: UpstreamError) -> _Hint:
    if not isinstance(exc, UpstreamStatusError):
        return _Hint()
    headers: dict[str, str] = {}
    for name, value in exc.headers:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    flag = headers.get("x-should-retry", "").strip().lower()
    should = True if flag == "true" else False if flag == "false" else None
    return _Hint(should, retry_after(headers))


def next_delay(
    exc: UpstreamError, retries: int, budget: int, time_left: float, policy: RetryPolicy
) -> float | None:
    """Seconds to wait before retrying ``exc``, or ``None`` to give up now."""
    hint = _hint(exc)
    if retries >= budget or not _should_retry(exc, hint):
        return None
    if hint.delay is not None:
        delay = hint.delay
    else:
        backoff = min(policy.base_delay * 2**retries, policy.max_delay)
        delay = backoff * (1 - policy.jitter * random.random())
    return delay if delay <= time_left else None


def _should_retry(exc: UpstreamError, hint: _Hint) -> bool:
    if hint.should_retry is not None:
        return hint.should_retry
    if isinstance(exc, UpstreamStatusError):
        assert exc.status is not None
        return exc.status in (408, 429) or exc.status >= 500
    return True  # timeouts and broken connections


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait the upstream asked for: ``retry-after-ms``, else ``retry-after`` (seconds or an
    HTTP-date); ``None`` when absent or unreadable. Never negative."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = -1.0
        if 0 <= ms < float("inf"):
            return ms / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - time.time())
    return seconds if 0 <= seconds < float("inf") else None
