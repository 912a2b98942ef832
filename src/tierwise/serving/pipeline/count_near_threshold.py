"""Step ``count_near_threshold``: near a context-size threshold, decide with the API's token
count instead of the estimate (see ``tierwise.serving.token_counts``); far from every
threshold it makes no call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tierwise.escalation.classifier.core import decode
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.fallback import encode
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.token_counts.counter import COUNT_TOKENS_PATH, CountResult, TokenCounter
from tierwise.serving.token_counts.step import count_body, count_reason, has_key, with_result
from tierwise.serving.upstream import Upstream


class CountNearThreshold:
    """Re-routes with a real token count when the estimate is too close to call."""

    def __init__(self, counter: TokenCounter, router: MessagesRouter, upstream: Upstream) -> None:
        self.counter = counter
        self.router = router
        self.upstream = upstream

    async def __call__(self, request: ProxyRequest) -> bool:
        routed, router = request.routed, self.router
        reason = count_reason(router, routed)
        if reason is None:
            return False
        limits, version, forward = request.budget.limits, request.version, request.forward
        if not has_key(forward):
            result = CountResult(None, "skipped: no API key to count with")
        else:

            async def send(body: dict[str, Any]) -> Mapping[str, Any]:
                response = await self.upstream.send(
                    "POST", COUNT_TOKENS_PATH, headers=forward, content=encode(body), max_retries=0
                )
                return decode(response.body or b"")

            result = await self.counter.count(count_body(routed), send)
        request.routed = with_result(
            router, routed, reason, result, api_version=version, limits=limits
        )
        return False
