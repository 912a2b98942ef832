"""Requests that fail HTTP parsing, sent to a real ``tierwise serve`` (httptools, as deployed):
the 400 is Anthropic's error shape, and the server keeps serving."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest

from tierwise.testing import FakeAnthropicServer, serve_process

HEAD = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
MALFORMED = {
    "negative-content-length": HEAD + b"content-length: -5\r\n\r\n{}",
    "length-and-chunked": HEAD
    + b"content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "nul-in-header": HEAD + b"x-api-key: sk\x00ant\r\ncontent-length: 2\r\n\r\n{}",
    "lf-in-header-name": HEAD + b"x-bad\nname: v\r\ncontent-length: 2\r\n\r\n{}",
}


def _raw(url: str, request: bytes) -> bytes:
    where = urlparse(url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def served_url() -> Iterator[str]:
    with FakeAnthropicServer() as fake, serve_process("--upstream", fake.url, "--no-record") as p:
        yield p.url


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_unparseable_requests_get_anthropics_error_shape(
    served_url: str, request_bytes: bytes
) -> None:
    answer = _raw(served_url, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["request_id"].startswith("req_tierwise_")
    assert httpx.get(f"{served_url}/healthz").json() == {"status": "ok"}
