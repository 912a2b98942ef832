"""The header tables, unit by unit."""

from __future__ import annotations

from tierwise.serving.headers import ascii_safe, client_headers, tierwise_headers, upstream_headers


def test_forwarding_drops_hop_by_hop_hints_and_encoding() -> None:
    client = [
        (b"host", b"127.0.0.1:8787"),
        (b"content-length", b"10"),
        (b"connection", b"keep-alive"),
        (b"transfer-encoding", b"chunked"),
        (b"accept-encoding", b"gzip"),
        (b"x-tierwise-task-type", b"format"),
        (b"anthropic-version", b"2026-10-21"),
        (b"anthropic-beta", b"a,b"),
        (b"anthropic-beta", b"c"),
        (b"x-api-key", b"sk-ant-caller"),
        (b"content-type", b"application/json"),
    ]
    assert upstream_headers(client) == [
        (b"anthropic-version", b"2026-10-21"),
        (b"anthropic-beta", b"a,b"),
        (b"anthropic-beta", b"c"),
        (b"x-api-key", b"sk-ant-caller"),
        (b"content-type", b"application/json"),
        (b"accept-encoding", b"identity"),
    ]


def test_server_key_replaces_every_client_credential() -> None:
    client = [(b"x-api-key", b"proxy-key"), (b"authorization", b"Bearer proxy-key")]
    assert upstream_headers(client, server_key="sk-server") == [
        (b"accept-encoding", b"identity"),
        (b"x-api-key", b"sk-server"),
    ]


def test_relaying_keeps_api_headers_and_drops_framing() -> None:
    upstream = [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", b"99"),
        (b"Content-Encoding", b"gzip"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Date", b"x"),
        (b"Server", b"cloudflare"),
        (b"Set-Cookie", b"__cf_bm=1"),
        (b"request-id", b"req_01"),
        (b"anthropic-ratelimit-requests-limit", b"4000"),
        (b"retry-after", b"3"),
        (b"x-should-retry", b"true"),
        (b"anthropic-organization-id", b"org"),
    ]
    assert client_headers(upstream) == [
        (b"content-type", b"application/json"),
        (b"request-id", b"req_01"),
        (b"anthropic-ratelimit-requests-limit", b"4000"),
        (b"retry-after", b"3"),
        (b"x-should-retry", b"true"),
        (b"anthropic-organization-id", b"org"),
    ]


def test_header_values_are_ascii_safe_and_bounded() -> None:
    assert ascii_safe("plain") == b"plain"
    assert ascii_safe("caf\u00e9\n") == b"caf\\u00e9\\u000a"
    assert len(ascii_safe("x" * 500)) == 200
    headers = dict(
        tierwise_headers(model="m\u00fc", tier=None, reason="r", decision_us=12, fallback=None)
    )
    assert headers[b"x-tierwise-model"] == b"m\\u00fc"
    assert headers[b"x-tierwise-tier"] == b"none"
    assert headers[b"x-tierwise-decision-us"] == b"12"
    assert b"x-tierwise-fallback" not in headers
