"""The only module that talks HTTP to Anthropic: one pooled client, retries, typed errors.

    UpstreamError              (a TierwiseError) the upstream could not give a usable answer
    ├── UpstreamTimeout        connect, read, write or pool timeout
    ├── UpstreamUnavailable    connection refused, reset, dropped mid-response, bad protocol
    └── UpstreamStatusError    a non-2xx status; carries status, body and headers

httpx's exceptions are translated here, once, and nowhere else. Messages name the exception
class and the host, never a header value, so credentials cannot leak into logs.

``send`` retries what is worth retrying (429, 5xx, 529, 408, dropped connections, timeouts,
or whatever ``x-should-retry`` says), honouring ``retry-after-ms`` / ``retry-after`` and falling
back to exponential backoff with jitter, within a bounded number of attempts and a bounded total
wait. A stream is returned open as soon as its status is known: after that nothing is retried,
because the caller may already have sent bytes to its own client.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx

from tierwise.errors import TierwiseError

DEFAULT_BASE_URL = "https://api.anthropic.com"
Header = tuple[bytes, bytes]

STATUS_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
"""The error type Anthropic's body carries for each status (``api_error`` for other 5xx)."""


class UpstreamError(TierwiseError):
    """The upstream gave no usable answer. ``retries`` says how many retries preceded it."""

    error_type = "api_error"
    status: int | None = None

    def __init__(self, message: str, *, retries: int = 0) -> None:
        super().__init__(message)
        self.retries = retries

    @property
    def fallback_eligible(self) -> bool:
        """Whether another model may succeed where this one failed (capacity, not the request)."""
        return True


class UpstreamTimeout(UpstreamError):
    """Connecting, sending, reading or waiting for a pooled connection took too long."""

    error_type = "timeout_error"


class UpstreamUnavailable(UpstreamError):
    """No complete response: refused, reset, dropped mid-body, or not HTTP."""

    error_type = "api_error"


class UpstreamStatusError(UpstreamError):
    """A non-2xx answer, kept whole so the proxy can relay it byte for byte."""

    def __init__(
        self, status: int, body: bytes, headers: Sequence[Header], *, retries: int = 0
    ) -> None:
        super().__init__(f"the upstream answered HTTP {status}", retries=retries)
        self.status = status
        self.body = body
        self.headers = list(headers)
        self.error_type = _body_error_type(body) or STATUS_ERROR_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )

    @property
    def fallback_eligible(self) -> bool:
        """Rate limits, overload and server errors; never a 4xx about the request itself."""
        assert self.status is not None
        return self.status == 429 or self.status >= 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one model before giving up (and, in the proxy, falling back).

    ``max_retries`` is used when no fallback model is left; ``retries_before_fallback`` when
    one is, so a caller is not kept waiting on a failing model while another could answer.
    ``max_total_wait`` bounds the seconds spent sleeping between attempts of one ``send``;
    a ``retry-after`` longer than what is left ends the retries instead of being obeyed.
    """

    max_retries: int = 2
    retries_before_fallback: int = 1
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_total_wait: float = 30.0


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """Where the upstream is and how the pool behaves. Timeouts are in seconds."""

    base_url: str = DEFAULT_BASE_URL
    connect_timeout: float = 5.0
    read_timeout: float = 600.0
    write_timeout: float = 600.0
    pool_timeout: float = 30.0
    max_connections: int = 1000
    max_keepalive_connections: int = 256
    keepalive_expiry: float = 30.0
    pool_shards: int = 16
    trust_env: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class UpstreamResponse:
    """A 2xx answer: complete (``body`` set) or an open stream to drain with ``iter_bytes``.

    An open stream holds a pooled connection until ``aclose`` (always call it, also on cancel).
    """

    __slots__ = ("_release", "_response", "body", "headers", "latency", "retries", "status")

    def __init__(
        self,
        response: httpx.Response,
        *,
        body: bytes | None,
        retries: int,
        latency: float,
        release: Callable[[], None] | None = None,
    ) -> None:
        self._response = response
        self._release = release
        self.status = response.status_code
        self.headers: list[Header] = response.headers.raw
        self.body = body
        self.retries = retries
        self.latency = latency  # seconds from the first attempt to the final status line

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives; httpx errors become ``UpstreamError``s."""
        host = self._response.request.url.host
        try:
            async for chunk in self._response.aiter_bytes():
                if chunk:
                    yield chunk
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"reading from {host} timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"the connection to {host} broke mid-response ({type(exc).__name__})"
            ) from None

    async def aclose(self) -> None:
        """Release the connection (an unfinished stream's connection is closed, not reused)."""
        release, self._release = self._release, None
        if release is not None:
            release()
        await self._response.aclose()


class _Shard:
    """One ``httpx.AsyncClient`` and how many requests hold one of its connections now."""

    __slots__ = ("busy", "client")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.busy = 0

    def release(self) -> None:
        self.busy -= 1


class Upstream:
    """Pooled HTTP/1.1 clients for all requests to the Anthropic API.

    The pool is split into ``pool_shards`` ``httpx.AsyncClient``s, and each request goes to the
    least busy one: httpcore walks (and probes the socket of) every connection of a pool each
    time a request takes or returns one, so a single pool of N connections costs O(N) or worse
    per request (measured: ~45% of the proxy's CPU at 32 concurrent requests, 5 ms per request
    at 128). Least-busy keeps every pool small under load, and at low load reuses shard 0's
    warm connections instead of opening one per shard.
    """

    def __init__(
        self,
        config: UpstreamConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config or UpstreamConfig()
        shards = 1 if transport is not None else max(1, self.config.pool_shards)
        self._shards = [_Shard(self._client(shards, transport)) for _ in range(shards)]
        self._host = httpx.URL(self.config.base_url).host

    def _client(self, shards: int, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        c = self.config
        return httpx.AsyncClient(
            base_url=c.base_url,
            timeout=httpx.Timeout(
                connect=c.connect_timeout,
                read=c.read_timeout,
                write=c.write_timeout,
                pool=c.pool_timeout,
            ),
            limits=httpx.Limits(
                max_connections=-(-c.max_connections // shards),
                max_keepalive_connections=-(-c.max_keepalive_connections // shards),
                keepalive_expiry=c.keepalive_expiry,
            ),
            http1=True,
            http2=False,
            follow_redirects=False,
            trust_env=c.trust_env,
            transport=transport,
        )

    @property
    def in_flight(self) -> int:
        """Requests holding a connection now (open streams included)."""
        return sum(shard.busy for shard in self._shards)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        for shard in self._shards:
            await shard.client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Sequence[Header],
        content: bytes | None = None,
        stream: bool = False,
        max_retries: int | None = None,
    ) -> UpstreamResponse:
        """Send one request, retrying per the policy; a 2xx answer or an ``UpstreamError``.

        With ``stream`` the 2xx body is left unread; any other status is read whole (error
        bodies are small) and raised as ``UpstreamStatusError``.
        """
        policy = self.config.retry
        budget = policy.max_retries if max_retries is None else max_retries
        started = time.perf_counter()
        waited = 0.0
        retries = 0
        while True:
            try:
                return await self._attempt(method, path, headers, content, stream, retries, started)
            except UpstreamError as exc:
                delay = _next_delay(exc, retries, budget, policy.max_total_wait - waited, policy)
                if delay is None:
                    raise
            waited += delay
            retries += 1
            await anyio.sleep(delay)

    async def _attempt(
        self,
        method: str,
        path: str,
        headers: Sequence[Header],
        content: bytes | None,
        stream: bool,
        retries: int,
        started: float,
    ) -> UpstreamResponse:
        shard = min(self._shards, key=_busy)
        shard.busy += 1
        try:
            return await self._exchange(
                shard, method, path, headers, content, stream, retries, started
            )
        except BaseException:
            shard.release()
            raise

    async def _exchange(
        self,
        shard: _Shard,
        method: str,
        path: str,
        headers: Sequence[Header],
        content: bytes | None,
        stream: bool,
        retries: int,
        started: float,
    ) -> UpstreamResponse:
        client = shard.client
        request = client.build_request(method, path, headers=list(headers), content=content)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"{self._host} timed out ({type(exc).__name__})", retries=retries
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"cannot reach {self._host} ({type(exc).__name__})", retries=retries
            ) from None
        latency = time.perf_counter() - started
        ok = 200 <= response.status_code < 300
        if ok and stream:
            return UpstreamResponse(
                response, body=None, retries=retries, latency=latency, release=shard.release
            )
        try:
            body = await response.aread()
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"reading from {self._host} timed out ({type(exc).__name__})", retries=retries
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"the connection to {self._host} broke mid-response ({type(exc).__name__})",
                retries=retries,
            ) from None
        finally:
            with anyio.CancelScope(shield=True):  # give the connection back even on cancel
                await response.aclose()
        if not ok:
            raise UpstreamStatusError(
                response.status_code, body, response.headers.raw, retries=retries
            )
        shard.release()
        return UpstreamResponse(response, body=body, retries=retries, latency=latency)


def _busy(shard: _Shard) -> int:
    return shard.busy


@dataclass(frozen=True, slots=True)
class _Hint:
    """What the upstream said about retrying: ``x-should-retry`` and the delay it asked for."""

    should_retry: bool | None = None
    delay: float | None = None


def _hint(exc: UpstreamError) -> _Hint:
    if not isinstance(exc, UpstreamStatusError):
        return _Hint()
    headers = httpx.Headers(exc.headers)
    flag = headers.get("x-should-retry", "").strip().lower()
    should = True if flag == "true" else False if flag == "false" else None
    return _Hint(should, retry_after(headers))


def _next_delay(
    exc: UpstreamError, retries: int, budget: int, time_left: float, policy: RetryPolicy
) -> float | None:
    """Seconds to wait before retrying ``exc``, or ``None`` to give up now."""
    hint = _hint(exc)
    if retries >= budget or not _should_retry(exc, hint):
        return None
    if hint.delay is not None:
        delay = hint.delay
    else:
        backoff = min(policy.base_delay * 2**retries, policy.max_delay)
        delay = backoff * (1 - policy.jitter * random.random())
    return delay if delay <= time_left else None


def _should_retry(exc: UpstreamError, hint: _Hint) -> bool:
    if hint.should_retry is not None:
        return hint.should_retry
    if isinstance(exc, UpstreamStatusError):
        assert exc.status is not None
        return exc.status in (408, 429) or exc.status >= 500
    return True  # timeouts and broken connections


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait the upstream asked for: ``retry-after-ms``, else ``retry-after`` (seconds or an
    HTTP-date); ``None`` when absent or unreadable. Never negative."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = -1.0
        if 0 <= ms < float("inf"):
            return ms / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - time.time())
    return seconds if 0 <= seconds < float("inf") else None


def _body_error_type(body: bytes) -> str | None:
    """``error.type`` from Anthropic's error JSON, if the body is that."""
    if not body or body[:1] != b"{":
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None
