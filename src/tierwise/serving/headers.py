"""Which headers cross the proxy, in each direction, and the ``x-tierwise-*`` ones it adds.

Client → upstream: everything is forwarded byte for byte (``anthropic-version``,
``anthropic-beta``, ``anthropic-workspace-id``, SDK and custom headers, credentials) except
hop-by-hop headers, ``host`` and ``content-length`` (the client sets its own), ``accept-encoding``
(replaced by ``identity``: the relay reads usage out of the stream, and an uncompressed
loopback hop costs nothing), and tierwise's own ``x-tierwise-*`` hints. In server-key mode the
caller's ``x-api-key`` / ``authorization`` (the proxy key) are dropped and the server key sent.

Upstream → client: everything (``request-id``, ``anthropic-ratelimit-*``, ``retry-after``,
``retry-after-ms``, ``x-should-retry``, ``content-type``, unknown headers) except hop-by-hop
headers, the body framing the proxy recomputes (``content-length``, ``content-encoding``), and
the upstream's ``date``/``server``/``set-cookie``/``alt-svc``, which describe another host.
"""

from __future__ import annotations

from collections.abc import Iterable

Header = tuple[bytes, bytes]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length", b"accept-encoding", b"expect"}
CREDENTIALS = frozenset({b"x-api-key", b"authorization"})
NOT_RELAYED = HOP_BY_HOP | {
    b"content-length",
    b"content-encoding",
    b"date",
    b"server",
    b"set-cookie",
    b"alt-svc",
}
HINT_PREFIX = b"x-tierwise-"
IDENTITY: Header = (b"accept-encoding", b"identity")
MAX_HEADER_VALUE = 200


def upstream_headers(client: Iterable[Header], *, server_key: str | None = None) -> list[Header]:
    """The headers to send upstream, from the client's (ASGI: lower-case names, raw values)."""
    drop = NOT_FORWARDED | CREDENTIALS if server_key is not None else NOT_FORWARDED
    out = [
        (name, value)
        for name, value in client
        if name not in drop and not name.startswith(HINT_PREFIX)
    ]
    out.append(IDENTITY)
    if server_key is not None:
        out.append((b"x-api-key", server_key.encode("latin-1")))
    return out


def client_headers(upstream: Iterable[Header]) -> list[Header]:
    """The upstream's response headers to relay to the client, names lower-cased for ASGI."""
    out: list[Header] = []
    for name, value in upstream:
        lower = name.lower()
        if lower not in NOT_RELAYED:
            out.append((lower, value))
    return out


def ascii_safe(value: str, limit: int = MAX_HEADER_VALUE) -> bytes:
    """``value`` as a header value: printable ASCII only (others escaped), at most ``limit``."""
    if value.isascii() and value.isprintable():
        text = value
    else:
        text = "".join(c if " " <= c <= "~" else f"\\u{ord(c):04x}" for c in value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("ascii")


def tierwise_headers(
    *,
    model: str | None,
    tier: str | None,
    reason: str,
    decision_us: int,
    fallback: str | None = None,
) -> list[Header]:
    """The ``x-tierwise-*`` headers every ``/v1/messages`` response carries."""
    out = [
        (b"x-tierwise-model", ascii_safe(model or "none")),
        (b"x-tierwise-tier", ascii_safe(tier or "none")),
        (b"x-tierwise-reason", ascii_safe(reason)),
        (b"x-tierwise-decision-us", str(decision_us).encode("ascii")),
    ]
    if fallback:
        out.append((b"x-tierwise-fallback", ascii_safe(fallback, 400)))
    return out
