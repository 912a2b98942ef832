"""The LLM classifier: ask a small model SIMPLE / STANDARD / COMPLEX, never break the request.

It is I/O, so it stays out of the pure strategy pipeline: the proxy awaits ``classify`` (the
library client calls ``classify_sync``) *after* the local decision, and only when that decision
is unsure (see ``apply.wants``); ``apply.reroute`` then moves the request to the graded tier
within the floors and ceilings the local strategies set. Every way it can fail — timeout,
upstream error, open circuit, an answer that is no known label — gives a ``pass`` verdict with
the reason, which lands in the decision's trace; the request goes out regardless.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from tierwise.core.decision import Action, Verdict
from tierwise.core.policy import Policy
from tierwise.core.usage import Usage
from tierwise.escalation.classifier.breaker import CircuitBreaker
from tierwise.escalation.classifier.cache import LruCache, text_key
from tierwise.escalation.validators.base import answer_text
from tierwise.ledger.outcome import RoutingCall, price

NAME = "classifier"
AsyncSend = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]
SyncSend = Callable[[dict[str, Any], float], Mapping[str, Any]]
"""Send a Messages body and return the response JSON; the float is the timeout in seconds."""


@dataclass(frozen=True, slots=True)
class Classification:
    """The classifier's verdict, and the model call it made (``None``: cached or skipped)."""

    verdict: Verdict
    call: RoutingCall | None = None


class Classifier:
    """One per proxy or client: it owns the cache and the circuit breaker."""

    def __init__(self, policy: Policy, *, clock: Callable[[], float] = time.monotonic) -> None:
        config = policy.config.classifier
        self.config = config
        self.model = config.model or policy.config.tiers.model_for(config.tier)
        self.breaker = CircuitBreaker(config.failures_to_open, config.cooldown, clock)
        self.cache: LruCache[Verdict] = LruCache(config.cache_size)

    def body(self, text: str) -> dict[str, Any]:
        """The Messages request that grades ``text`` (its head, up to ``max_chars``)."""
        config = self.config
        prompt = config.prompt.replace("{text}", text[: config.max_chars])
        return {
            "model": self.model,
            "max_tokens": config.max_tokens,
            "messages": [{"role": "user", "content": prompt}],
        }

    async def classify(self, text: str, send: AsyncSend) -> Classification:
        """Grade ``text`` through ``send``, within the timeout."""
        early = self._early(text)
        if early is not None:
            return early
        started = time.perf_counter()
        try:
            with anyio.fail_after(self.config.timeout):
                response = await send(self.body(text))
        except TimeoutError:
            return self._failed(f"timed out after {self.config.timeout:g}s", started)
        except Exception as exc:  # routing never breaks a request
            return self._failed(_describe(exc), started)
        return self._read(text, response, started)

    def classify_sync(self, text: str, send: SyncSend) -> Classification:
        """``classify`` for blocking callers; ``send`` must honour the timeout it is given."""
        early = self._early(text)
        if early is not None:
            return early
        started = time.perf_counter()
        try:
            response = send(self.body(text), self.config.timeout)
        except Exception as exc:  # routing never breaks a request
            timed_out = "timeout" in type(exc).__name__.lower()
            why = f"timed out after {self.config.timeout:g}s" if timed_out else _describe(exc)
            return self._failed(why, started)
        return self._read(text, response, started)

    # -- the steps around the call ----------------------------------------------------------

    def _early(self, text: str) -> Classification | None:
        cached = self.cache.get(text_key(text))
        if cached is not None:
            return Classification(_with_reason(cached, f"{cached.reason} (cached)"))
        if not self.breaker.allow():
            cooldown = self.breaker.cooldown
            why = f"circuit open after repeated failures (retried after {cooldown:g}s); passed"
            return Classification(Verdict(NAME, Action.PASS, why))
        return None

    def _failed(self, why: str, started: float) -> Classification:
        self.breaker.failure()
        latency = time.perf_counter() - started
        call = RoutingCall("classifier", self.model, latency, error=why)
        return Classification(Verdict(NAME, Action.PASS, f"{why}; passed"), call)

    def _read(self, text: str, response: Mapping[str, Any], started: float) -> Classification:
        self.breaker.success()
        latency = time.perf_counter() - started
        usage = _usage(response)
        call = RoutingCall("classifier", self.model, latency, usage, price(usage, self.model))
        answer = answer_text(response).strip()
        label = answer.split()[0].strip(".,:;!\"'*`").upper() if answer else ""
        tier = self.config.labels.get(label)
        if tier is None:
            why = f"answered {answer[:40]!r}, not one of {', '.join(self.config.labels)}; passed"
            return Classification(Verdict(NAME, Action.PASS, why), call)
        verdict = Verdict(NAME, Action.DECIDE, f"{self.model} graded it {label}", tier=tier)
        self.cache.put(text_key(text), verdict)
        return Classification(verdict, call)


def _usage(response: Mapping[str, Any]) -> Usage | None:
    usage = response.get("usage")
    try:
        return Usage.from_api(usage) if isinstance(usage, Mapping) else None
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    kind = getattr(exc, "error_type", None) or type(exc).__name__
    return f"failed ({kind}{f', HTTP {status}' if status else ''})"


def _with_reason(verdict: Verdict, reason: str) -> Verdict:
    return Verdict(verdict.strategy, verdict.action, reason, tier=verdict.tier)


def decode(raw: bytes) -> Mapping[str, Any]:
    """A response body as JSON (``ValueError`` if it is not an object)."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the response is not a JSON object")
    return data
