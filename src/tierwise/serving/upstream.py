"""The only module that talks HTTP to Anthropic: one pooled client, retries, typed errors.

    UpstreamError              (a TierwiseError) the upstream could not give a usable answer
    ├── UpstreamTimeout        connect, read or pool timeout
    ├── UpstreamUnavailable    connection refused, reset, dropped mid-response, bad protocol
    └── UpstreamStatusError    a non-2xx status; carries status, body and headers

aiohttp's exceptions are translated here, once, and nowhere else. Messages name the exception
class and the host, never a header value, so credentials cannot leak into logs.

``send`` retries what is worth retrying (429, 5xx, 529, 408, dropped connections, timeouts,
or whatever ``x-should-retry`` says), honouring ``retry-after-ms`` / ``retry-after`` and falling
back to exponential backoff with jitter, within a bounded number of attempts and a bounded total
wait. A stream is returned open as soon as its status is known: after that nothing is retried,
because the caller may already have sent bytes to its own client.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
import anyio
from aiohttp.helpers import get_env_proxy_for_url
from multidict import CIMultiDict
from yarl import URL

from tierwise.serving.retries import RetryPolicy, next_delay
from tierwise.serving.upstream_errors import (
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "RetryPolicy",
    "Upstream",
    "UpstreamConfig",
    "UpstreamError",
    "UpstreamResponse",
    "UpstreamStatusError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]

DEFAULT_BASE_URL = "https://api.anthropic.com"
Header = tuple[bytes, bytes]

NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
"""Headers aiohttp would add on its own: not sent unless the caller sent them."""
IDENTITY = ("accept-encoding", "identity")
_URL_CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """Where the upstream is and how the pool behaves. Timeouts are in seconds.

    ``connect_timeout`` bounds opening one connection, ``pool_timeout`` the wait for a free one
    when ``max_connections`` are busy, ``read_timeout`` any silence from the upstream once the
    request is sent (before the status line and between body chunks). Nothing bounds a whole
    response, so a long stream that keeps sending is never cut; aiohttp has no write timeout,
    so an upload the upstream stops reading lasts until the caller gives up (the proxy cancels
    the upstream request when its client disconnects). Idle connections are closed after
    ``keepalive_expiry``. With ``trust_env`` an ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``
    from the environment is honoured (read once, when the first request is sent).
    """

    base_url: str = DEFAULT_BASE_URL
    connect_timeout: float = 5.0
    read_timeout: float = 600.0
    pool_timeout: float = 30.0
    max_connections: int = 1000
    keepalive_expiry: float = 30.0
    dns_cache_ttl: int = 300
    trust_env: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class UpstreamResponse:
    """A 2xx answer: complete (``body`` set) or an open stream to drain with ``iter_bytes``.

    An open stream holds a pooled connection until ``aclose`` (always call it, also on cancel).
    """

    __slots__ = (
        "_first",
        "_host",
        "_release",
        "_response",
        "body",
        "headers",
        "latency",
        "retries",
        "status",
    )

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        *,
        body: bytes | None,
        retries: int,
        latency: float,
        host: str,
        release: Callable[[], None] | None = None,
        first: bytes = b"",
    ) -> None:
        self._response = response
        self._first = first  # read before the answer was handed on (see Upstream._first_bytes)
        self._host = host
        self._release = release
        self.status = response.status
        self.headers: list[Header] = list(response.raw_headers)
        self.body = body
        self.retries = retries
        self.latency = latency  # seconds from the first attempt to the final status line

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives, raw (not decompressed); errors become ``UpstreamError``s,
        raised after every byte that arrived before the error."""
        content = self._response.content
        first, self._first = self._first, b""
        if first:
            yield first
        try:
            async for chunk in content.iter_any():
                if chunk:
                    yield chunk
            return
        except TimeoutError as exc:
            error: UpstreamError = UpstreamTimeout(
                f"reading from {self._host} timed out ({type(exc).__name__})"
            )
        except (aiohttp.ClientError, OSError) as exc:
            error = UpstreamUnavailable(
                f"the connection to {self._host} broke mid-response ({type(exc).__name__})"
            )
        tail = _unread(content)
        if tail:
            yield tail
        raise error

    async def aclose(self) -> None:
        """Release the connection (an unfinished stream's connection is closed, not reused)."""
        release, self._release = self._release, None
        if release is not None:
            release()
        response = self._response
        if response.content.is_eof():
            response.release()
        else:
            response.close()


class Upstream:
    """One pooled HTTP/1.1 client (an ``aiohttp.ClientSession``) for all requests to the API.

    An aiohttp session belongs to the event loop it was made in, so it is made by the first
    ``send`` (inside the loop serving the app) and closed by ``aclose``; use an ``Upstream``
    from one loop, or ``aclose`` it before moving to another. aiohttp's pool takes and returns
    a keep-alive connection in constant time, so one pool serves any concurrency (httpx's
    pool walked every connection on each take and return and had to be sharded).

    Requests go out as the caller built them: only ``Host`` and ``Content-Length`` are added,
    and ``accept-encoding: identity`` when the caller named no encoding, since bodies are
    handed over raw, never decompressed. No cookies are kept and no redirect is followed.
    Header values go out as UTF-8, so UTF-8 and ASCII values pass byte for byte (other
    bytes are read as Latin-1 and re-encoded).
    """

    def __init__(self, config: UpstreamConfig | None = None) -> None:
        self.config = config or UpstreamConfig()
        self._base = self.config.base_url.rstrip("/")
        self._host = URL(self._base).host or self._base
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Requests holding a connection now (open streams included)."""
        return self._in_flight

    async def aclose(self) -> None:
        """Close every pooled connection (a later ``send`` opens a new pool)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            session = self._session = self._new_session()
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        c = self.config
        proxy: URL | None = None
        proxy_auth: aiohttp.BasicAuth | None = None
        if c.trust_env:  # once, here: aiohttp's own trust_env asks the environment per request
            with contextlib.suppress(LookupError):
                proxy, proxy_auth = get_env_proxy_for_url(URL(self._base))
        connector = aiohttp.TCPConnector(
            limit=c.max_connections,
            limit_per_host=0,
            keepalive_timeout=c.keepalive_expiry,
            ttl_dns_cache=c.dns_cache_ttl,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=c.pool_timeout + c.connect_timeout,
                sock_connect=c.connect_timeout,
                sock_read=c.read_timeout,
            ),
            skip_auto_headers=NO_AUTO_HEADERS,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            proxy=proxy,
            proxy_auth=proxy_auth,
            trust_env=False,
            max_field_size=65536,
        )

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = URL(self._base + path)
            if len(self._urls) < _URL_CACHE_SIZE:
                self._urls[path] = url
        return url

    def _release(self) -> None:
        self._in_flight -= 1

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
        session = self._client()
        url = self._url(path)
        request_headers = _request_headers(headers)
        started = time.perf_counter()
        waited = 0.0
        retries = 0
        while True:
            self._in_flight += 1
            try:
                return await self._exchange(
                    session, method, url, request_headers, content, stream, retries, started
                )
            except UpstreamError as exc:
                self._in_flight -= 1
                delay = next_delay(exc, retries, budget, policy.max_total_wait - waited, policy)
                if delay is None:
                    raise
            except BaseException:
                self._in_flight -= 1
                raise
            waited += delay
            retries += 1
            await anyio.sleep(delay)

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: CIMultiDict[str],
        content: bytes | None,
        stream: bool,
        retries: int,
        started: float,
    ) -> UpstreamResponse:
        """One attempt. On success with ``stream`` the caller's ``in_flight`` slot is handed to
        the response (given back by its ``aclose``); otherwise it is given back here."""
        try:
            response = await session.request(
                method, url, headers=headers, data=content, allow_redirects=False
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"{self._host} timed out ({type(exc).__name__})", retries=retries
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise UpstreamUnavailable(
                f"cannot reach {self._host} ({type(exc).__name__})", retries=retries
            ) from None
        latency = time.perf_counter() - started
        status = response.status
        ok = 200 <= status < 300
        if ok and stream:
            first = await self._first_bytes(response, retries)
            return UpstreamResponse(
                response,
                body=None,
                retries=retries,
                latency=latency,
                host=self._host,
                release=self._release,
                first=first,
            )
        try:
            body = await response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"reading from {self._host} timed out ({type(exc).__name__})", retries=retries
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise UpstreamUnavailable(
                f"the connection to {self._host} broke mid-response ({type(exc).__name__})",
                retries=retries,
            ) from None
        finally:
            response.release()  # back to the pool; closed instead if the body is unfinished
        if not ok:
            raise UpstreamStatusError(status, body, list(response.raw_headers), retries=retries)
        self._in_flight -= 1
        return UpstreamResponse(
            response, body=body, retries=retries, latency=latency, host=self._host
        )

    async def _first_bytes(self, response: aiohttp.ClientResponse, retries: int) -> bytes:
        """The stream's first bytes, read before the answer is handed on: a connection that
        breaks before any byte arrived fails here, while retries and fallbacks can still run
        (nothing has reached the caller yet)."""
        try:
            first = await response.content.readany()
        except TimeoutError as exc:
            response.close()
            raise UpstreamTimeout(
                f"{self._host} sent no byte of the stream ({type(exc).__name__})", retries=retries
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            response.close()
            raise UpstreamUnavailable(
                f"the connection to {self._host} broke before the stream began "
                f"({type(exc).__name__})",
                retries=retries,
            ) from None
        if not first:
            response.close()
            raise UpstreamUnavailable(
                f"{self._host} closed the stream before its first byte", retries=retries
            )
        return first


def _unread(content: aiohttp.StreamReader) -> bytes:
    """The bytes that arrived but were not read when the stream failed.

    aiohttp's reader raises a stored error before handing out what it still buffers
    (aio-libs/aiohttp#3026), so the last events before a break would be lost whenever the
    break arrives while the relay is busy sending; they are taken from the buffer here.
    """
    buffer = getattr(content, "_buffer", None)
    if not buffer:
        return b""
    offset = getattr(content, "_buffer_offset", 0)
    data = b"".join(buffer)[offset:]
    buffer.clear()
    return bytes(data)


def _request_headers(headers: Sequence[Header]) -> CIMultiDict[str]:
    out = CIMultiDict([(name.decode("latin-1"), _text(value)) for name, value in headers])
    if IDENTITY[0] not in out:
        out.add(*IDENTITY)
    return out


def _text(value: bytes) -> str:
    """A header value as aiohttp wants it (it writes UTF-8, so UTF-8 goes out unchanged)."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")
