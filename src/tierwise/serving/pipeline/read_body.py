"""Step ``read_body``: the body within the size limit, parsed once, and what routing reads of
the headers (``anthropic-version``, hints)."""

from __future__ import annotations

import json
import re
from typing import Any

from tierwise.messages.body_bytes import BodySpans, parse_with_spans
from tierwise.messages.hints import Hints
from tierwise.serving.errors import bad_request
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.wire import header, read_body


class ReadBody:
    """Reads and parses the JSON body; only a body that is not a JSON object is refused here."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    async def __call__(self, request: ProxyRequest) -> bool:
        ex = request.exchange
        request.raw = await read_body(request.receive, request.raw_headers, self.max_body_bytes)
        body, request.spans = parse(request.raw)
        ex.body = request.body = body
        model = body.get("model")
        ex.requested_model = model if isinstance(model, str) else None
        ex.stream = body.get("stream") is True and not request.count_tokens
        raw_headers = request.raw_headers
        request.version = header(raw_headers, b"anthropic-version")
        hinted = {  # ASGI header names are lower-case bytes: one pass, no decoding of the rest
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in raw_headers
            if name.startswith(b"x-tierwise-")
        }
        request.hints = Hints.from_request(hinted, body)
        return False


def parse(raw: bytes) -> tuple[dict[str, Any], BodySpans | None]:
    """The body as a JSON object (with where its values are in ``raw``: ``body_bytes``), or a
    400 worded as Anthropic words it.

    Python's parser accepts two things no caller can mean and the rest of the request path
    cannot carry: nesting deeper than the interpreter's recursion limit, and a lone UTF-16
    surrogate escape (``"\\ud800"``), which is not text and cannot be encoded to send on.
    """
    try:
        body, spans = parse_with_spans(raw)
    except ValueError:
        raise bad_request("There was an error parsing the body of your request as JSON") from None
    except RecursionError:
        raise bad_request("The request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(body):
        raise bad_request("The request body contains an unpaired UTF-16 surrogate escape")
    return body, spans


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # only such bodies need the check


def _encodable(body: dict[str, Any]) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
