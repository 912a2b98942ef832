"""Step ``sample_for_shadow``: a sampled request keeps its answer for the shadow judge."""

from __future__ import annotations

from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.shadow.answer import Capture
from tierwise.serving.shadow.worker import ShadowWorker


class SampleForShadow:
    """Marks the request for shadow evaluation when the worker's sampling says so."""

    def __init__(self, shadow: ShadowWorker) -> None:
        self.shadow = shadow

    async def __call__(self, request: ProxyRequest) -> bool:
        if self.shadow.wants(request.routed):
            request.exchange.capture = Capture(request.forward)
        return False
