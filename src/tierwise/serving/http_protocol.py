"""uvicorn's HTTP protocol with one change: a request it cannot parse gets Anthropic's error
shape, not a plain-text page.

Requests that fail HTTP parsing (a negative ``content-length``, both ``content-length`` and
``transfer-encoding: chunked``, CR, LF or NUL inside a header) never reach the app, so the app's
error layer cannot shape them; the parser's 400 is made here instead. Clients and their retry
logic then read the same ``{"type": "error", ...}`` body as for every other refusal.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from tierwise.messages.api_errors import error_json, new_request_id

UNPARSEABLE = "Invalid HTTP request received."


class AnthropicShapedHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose parse-error 400 is Anthropic's JSON error body."""

    def send_400_response(self, msg: str) -> None:
        request_id = new_request_id()
        body = error_json("invalid_request_error", msg or UNPARSEABLE, request_id)
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"request-id: " + request_id.encode("ascii") + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
