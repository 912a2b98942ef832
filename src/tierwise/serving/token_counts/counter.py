"""One ``/v1/messages/count_tokens`` call per distinct prompt: timed out, cached, never fatal.

A count is worth having only if it is cheap next to the request it sizes, so the call gets a
short timeout (``context.count_timeout``) and no retries; counts are cached in a bounded LRU
keyed by a hash of the counted body (never the text itself); and after repeated failures a
circuit breaker skips the call for a cool-down, so an outage costs near-threshold requests
nothing instead of their timeout. Every failure gives a result with no tokens and the reason,
which the caller puts in the decision's trace before deciding with the estimate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from tierwise.core.policy_schema import ContextConfig
from tierwise.escalation.classifier.breaker import CircuitBreaker
from tierwise.escalation.classifier.cache import LruCache, text_key

COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
FAILURES_TO_OPEN = 3  # consecutive failed counts that open the circuit
COOLDOWN = 30.0  # seconds the circuit stays open
Send = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]
"""Post a count_tokens body and return the response JSON (raising on any HTTP error)."""


@dataclass(frozen=True, slots=True)
class CountResult:
    """The count (``None``: none was had) and how it was had, or why not."""

    tokens: int | None
    note: str  # "counted in 12 ms", "cached", "timed out after 1s", ...
    called: bool = False  # an HTTP call was made (cache hits and an open circuit make none)


def body_key(body: Mapping[str, Any]) -> str:
    """The cache key of a count body: a SHA-256 of its canonical JSON (model included)."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text_key(canonical)


class TokenCounter:
    """One per proxy: it owns the cache and the circuit breaker. Safe across tasks and threads."""

    def __init__(
        self, config: ContextConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = config.count_timeout
        self.cache: LruCache[int] = LruCache(config.count_cache_size)
        self.breaker = CircuitBreaker(FAILURES_TO_OPEN, COOLDOWN, clock)

    async def count(self, body: dict[str, Any], send: Send) -> CountResult:
        """The input tokens of ``body`` (a count_tokens request), through ``send``."""
        key = body_key(body)
        cached = self.cache.get(key)
        if cached is not None:
            return CountResult(cached, "cached")
        if not self.breaker.allow():
            why = f"skipped: circuit open after repeated failures (retried after {COOLDOWN:g}s)"
            return CountResult(None, why)
        started = time.perf_counter()
        try:
            with anyio.fail_after(self.timeout):
                response = await send(body)
        except TimeoutError:
            self.breaker.failure()
            return CountResult(None, f"timed out after {self.timeout:g}s", called=True)
        except Exception as exc:  # routing never breaks a request
            self.breaker.failure()
            return CountResult(None, f"failed ({describe(exc)})", called=True)
        tokens = response.get("input_tokens")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            self.breaker.failure()
            return CountResult(None, f"answered no input_tokens (got {tokens!r})", called=True)
        self.breaker.success()
        self.cache.put(key, tokens)
        elapsed = (time.perf_counter() - started) * 1000
        return CountResult(tokens, f"counted in {elapsed:.0f} ms", called=True)


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a failed call: its error type and HTTP status."""
    status = getattr(exc, "status", None)
    kind = getattr(exc, "error_type", None) or type(exc).__name__
    return f"{kind}, HTTP {status}" if status else str(kind)
