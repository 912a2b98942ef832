"""Open the upstream response for a routed request, falling back down the policy's chain.

A routed request whose model keeps failing for capacity reasons (429, 529, 5xx, timeouts,
broken connections, after its retries) is re-aimed at the next model of its tier's chain in
``policy.proxy.fallbacks``, via ``MessagesRouter.retarget`` so the body is adjusted for the new
model. While another model is left, the failing one gets fewer retries
(``RetryPolicy.retries_before_fallback``): an answer from the fallback beats three more
waits on an overloaded model. Requests that name a concrete model (no decision) and 4xx
errors about the request itself are never moved.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tierwise.ledger.outcome import Attempt
from tierwise.messages.body_bytes import BodySpans, encode_json, encode_routed
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.serving.headers import Header
from tierwise.serving.upstream import Upstream, UpstreamError, UpstreamResponse

CLIENT_LEFT = "client_disconnected"  # an attempt the caller did not wait for


@dataclass(slots=True)
class Trail:
    """The attempts made so far and the fallback steps taken (for headers and the outcome)."""

    attempts: list[Attempt] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    served: Routed | None = None  # the last request sent upstream

    @property
    def header(self) -> str | None:
        """``x-tierwise-fallback``: ``a -> b (overloaded_error); b -> c (api_error)``."""
        return "; ".join(self.steps) or None


def fallback_models(router: MessagesRouter, routed: Routed) -> list[str]:
    """The models to try after ``routed.model``, in order (empty for an unrouted request)."""
    if routed.decision is None or routed.tier is None:
        return []
    policy = router.policy
    models: list[str] = []
    for tier in policy.config.proxy.fallbacks.get(routed.tier, []):
        if tier in policy.models:
            model = policy.model_for(tier).id
            if model != routed.model and model not in models:
                models.append(model)
    return models


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact JSON; non-ASCII kept as UTF-8 unless the text holds lone surrogates."""
    return encode_json(body)


async def open_upstream(
    router: MessagesRouter,
    upstream: Upstream,
    routed: Routed,
    *,
    path: str,
    headers: Sequence[Header],
    raw: bytes,
    original: Mapping[str, Any],
    api_version: str | None,
    trail: Trail,
    spans: BodySpans | None = None,
) -> tuple[Routed, UpstreamResponse]:
    """Send ``routed`` (then its fallbacks) until one answers 2xx; the last error otherwise.

    ``raw`` is sent as received when routing left the body unchanged, so a pass-through
    request reaches the upstream byte for byte; otherwise only what routing changed is encoded
    again (``spans``: where ``original``'s values are in ``raw``; see ``encode_routed``).
    """
    retry = upstream.config.retry
    chain = fallback_models(router, routed)
    current = routed
    while True:
        trail.served = current
        content = encode_routed(current.body, original, raw, spans)
        retries = retry.retries_before_fallback if chain else retry.max_retries
        started = time.perf_counter()
        try:
            response = await upstream.send(
                "POST",
                path,
                headers=headers,
                content=content,
                stream=current.stream,
                max_retries=retries,
            )
        except UpstreamError as exc:
            failed: UpstreamError = exc
            latency = time.perf_counter() - started
            trail.attempts.append(
                Attempt(current.model, exc.status, exc.error_type, latency, exc.retries)
            )
        except BaseException:  # the caller left (cancelled) mid-call: the call was still made
            latency = time.perf_counter() - started
            trail.attempts.append(Attempt(current.model, None, CLIENT_LEFT, latency, 0))
            raise
        else:
            trail.attempts.append(
                Attempt(current.model, response.status, None, response.latency, response.retries)
            )
            return current, response
        while chain and not router.can_retarget(current, chain[0]):
            chain.pop(0)  # that model would reject something never rewritten (a prefill)
        if not chain or not failed.fallback_eligible:
            raise failed
        model = chain.pop(0)
        trail.steps.append(f"{current.model} -> {model} ({failed.error_type})")
        current = router.retarget(current, model, api_version=api_version)
