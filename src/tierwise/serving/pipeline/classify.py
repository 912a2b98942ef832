"""Step ``classify``: the LLM classifier's grade, where the policy wants one; its verdict (a
grade, or why it passed) joins the trace, and a broken classifier only passes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tierwise.escalation.classifier import Classifier, reroute, wants
from tierwise.escalation.classifier.core import decode
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.fallback import encode
from tierwise.serving.forward_cascade import MESSAGES_PATH
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.upstream import Upstream


class Classify:
    """Asks the classifier model for a grade and re-routes by it."""

    def __init__(self, classifier: Classifier, router: MessagesRouter, upstream: Upstream) -> None:
        self.classifier = classifier
        self.router = router
        self.upstream = upstream

    async def __call__(self, request: ProxyRequest) -> bool:
        routed = request.routed
        if not wants(self.router, routed):
            return False
        assert routed.request is not None
        forward = request.forward

        async def send(body: dict[str, Any]) -> Mapping[str, Any]:
            response = await self.upstream.send(
                "POST", MESSAGES_PATH, headers=forward, content=encode(body), max_retries=0
            )
            return decode(response.body or b"")

        result = await self.classifier.classify(routed.request.text, send)
        if result.call is not None:
            request.exchange.routing_calls.append(result.call)
        request.routed = reroute(self.router, routed, result.verdict)
        return False
