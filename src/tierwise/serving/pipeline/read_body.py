"""Step ``read_body``: the body within the size limit, parsed once, and what routing reads of
the headers (``anthropic-version``, hints)."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers

from tierwise.messages.hints import Hints
from tierwise.serving.errors import bad_request
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.wire import read_body


class ReadBody:
    """Reads and parses the JSON body; only a body that is not a JSON object is refused here."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    async def __call__(self, request: ProxyRequest) -> bool:
        ex = request.exchange
        request.raw = await read_body(request.receive, request.raw_headers, self.max_body_bytes)
        ex.body = request.body = body = parse(request.raw)
        model = body.get("model")
        ex.requested_model = model if isinstance(model, str) else None
        ex.stream = body.get("stream") is True and not request.count_tokens
        request.headers = headers = Headers(raw=request.raw_headers)
        request.version = headers.get("anthropic-version")
        request.hints = Hints.from_request(headers, body)
        return False


def parse(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 worded as Anthropic words it."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("There was an error parsing the body of your request as JSON") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body
