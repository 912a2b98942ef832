"""Step ``authenticate``: with client keys configured, the caller must present one of them."""

from __future__ import annotations

from tierwise.serving.auth import ClientKeys
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.wire import header


class Authenticate:
    """Names the caller from its ``x-api-key`` or bearer token; a wrong key is a 401."""

    def __init__(self, keys: ClientKeys) -> None:
        self.keys = keys

    async def __call__(self, request: ProxyRequest) -> bool:
        raw = request.raw_headers
        request.exchange.caller = self.keys.authenticate(
            header(raw, b"x-api-key"), header(raw, b"authorization")
        )
        return False
