"""The upstream client: retries and their limits, retry headers, and the typed error tree."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tierwise.errors import TierwiseError
from tierwise.testing import Drop, FakeAnthropicServer
from tierwise.upstream import (
    RetryPolicy,
    Upstream,
    UpstreamConfig,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
    retry_after,
)

pytestmark = pytest.mark.anyio

TINY = RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.002, max_total_wait=1.0)
KEY = "sk-ant-secret-key-000"
HEADERS = [(b"x-api-key", KEY.encode()), (b"anthropic-version", b"2023-06-01")]
BODY = b'{"model":"claude-haiku-5-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def scripted(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[float]]:
    """A transport answering with ``responses`` in order, and the arrival time of each request."""
    queue = list(responses)
    arrivals: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handle), arrivals


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"type": "error", "error": {"type": kind, "message": "m"}, "request_id": "req_01"}
    return httpx.Response(status, json=body, headers=headers)


def ok(text: str = "fine") -> httpx.Response:
    return httpx.Response(200, json={"text": text})


def upstream(transport: httpx.MockTransport, retry: RetryPolicy = TINY) -> Upstream:
    return Upstream(
        UpstreamConfig(base_url="http://upstream.test", retry=retry), transport=transport
    )


async def send(up: Upstream, **options: object) -> bytes | None:
    try:
        response = await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY, **options)  # type: ignore[arg-type]
        return response.body
    finally:
        await up.aclose()


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error"), (503, "api_error")],
)
async def test_capacity_errors_are_retried(status: int, kind: str) -> None:
    transport, arrivals = scripted(error(status, kind), ok())
    assert await send(upstream(transport)) == b'{"text":"fine"}'
    assert len(arrivals) == 2


async def test_retry_count_is_reported() -> None:
    transport, _ = scripted(error(529, "overloaded_error"), error(529, "overloaded_error"), ok())
    up = upstream(transport)
    response = await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY)
    await up.aclose()
    assert response.retries == 2
    assert response.status == 200
    assert response.latency > 0


async def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    transport, arrivals = scripted(*[error(529, "overloaded_error")] * 5)
    with pytest.raises(UpstreamStatusError) as caught:
        await send(upstream(transport))
    assert len(arrivals) == 3
    assert caught.value.retries == 2
    assert caught.value.status == 529
    assert caught.value.error_type == "overloaded_error"
    assert caught.value.fallback_eligible
    assert b'"overloaded_error"' in caught.value.body
    assert isinstance(caught.value, TierwiseError)


async def test_max_retries_can_be_lowered_per_call() -> None:
    transport, arrivals = scripted(*[error(529, "overloaded_error")] * 5)
    with pytest.raises(UpstreamStatusError):
        await send(upstream(transport), max_retries=0)
    assert len(arrivals) == 1


async def test_request_errors_are_not_retried() -> None:
    transport, arrivals = scripted(error(400, "invalid_request_error"), ok())
    with pytest.raises(UpstreamStatusError) as caught:
        await send(upstream(transport))
    assert len(arrivals) == 1
    assert not caught.value.fallback_eligible
    assert caught.value.error_type == "invalid_request_error"


async def test_x_should_retry_overrides_the_status() -> None:
    transport, arrivals = scripted(error(529, "overloaded_error", {"x-should-retry": "false"}))
    with pytest.raises(UpstreamStatusError):
        await send(upstream(transport))
    assert len(arrivals) == 1
    transport, arrivals = scripted(error(409, "conflict_error", {"x-should-retry": "true"}), ok())
    await send(upstream(transport))
    assert len(arrivals) == 2


async def test_retry_after_is_honoured() -> None:
    transport, arrivals = scripted(error(429, "rate_limit_error", {"retry-after": "0.2"}), ok())
    await send(upstream(transport))
    assert arrivals[1] - arrivals[0] >= 0.19


async def test_a_retry_after_beyond_the_wait_budget_ends_the_retries() -> None:
    transport, arrivals = scripted(error(429, "rate_limit_error", {"retry-after": "30"}), ok())
    started = time.monotonic()
    with pytest.raises(UpstreamStatusError):
        await send(upstream(transport))
    assert len(arrivals) == 1
    assert time.monotonic() - started < 1


async def test_backoff_grows_within_its_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def record(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr("tierwise.upstream.anyio.sleep", record)
    policy = RetryPolicy(max_retries=4, base_delay=0.5, max_delay=1.5, jitter=0.25)
    transport, _ = scripted(*[error(500, "api_error")] * 4, ok())
    await send(upstream(transport, policy))
    assert len(slept) == 4
    for delay, nominal in zip(slept, [0.5, 1.0, 1.5, 1.5], strict=True):
        assert nominal * 0.75 <= delay <= nominal


async def test_connection_errors_are_retried_and_translated() -> None:
    transport, arrivals = scripted(httpx.ConnectError("refused"), ok())
    await send(upstream(transport))
    assert len(arrivals) == 2
    transport, _ = scripted(*[httpx.ConnectError(f"refused {KEY}")] * 3)
    with pytest.raises(UpstreamUnavailable) as caught:
        await send(upstream(transport))
    assert KEY not in str(caught.value)
    assert "upstream.test" in str(caught.value)
    assert caught.value.error_type == "api_error"
    assert caught.value.status is None
    assert caught.value.fallback_eligible


async def test_timeouts_are_translated() -> None:
    transport, _ = scripted(*[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(UpstreamTimeout) as caught:
        await send(upstream(transport))
    assert caught.value.error_type == "timeout_error"
    assert isinstance(caught.value, UpstreamError)


async def test_a_stream_is_returned_open() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"event: ping\n"
        yield b"data: {}\n\n"

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    up = upstream(httpx.MockTransport(handle))
    response = await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY, stream=True)
    assert response.body is None
    chunks = [chunk async for chunk in response.iter_bytes()]
    await response.aclose()
    await up.aclose()
    assert b"".join(chunks) == b"event: ping\ndata: {}\n\n"


async def test_a_stream_error_status_is_read_and_raised() -> None:
    transport, _ = scripted(error(400, "invalid_request_error"))
    with pytest.raises(UpstreamStatusError) as caught:
        await send(upstream(transport), stream=True)
    assert caught.value.body.startswith(b'{"type":"error"')


async def test_a_stream_dropped_mid_body_raises_upstream_unavailable() -> None:
    async with FakeAnthropicServer() as fake:
        fake.script.push(Drop(after_events=2))
        up = Upstream(UpstreamConfig(base_url=fake.url, retry=TINY))
        body = BODY[:-1] + b',"stream":true}'
        response = await up.send("POST", "/v1/messages", headers=HEADERS, content=body, stream=True)
        received: list[bytes] = []

        async def drain() -> None:
            async for chunk in response.iter_bytes():
                received.append(chunk)

        with pytest.raises(UpstreamUnavailable, match="broke mid-response"):
            await drain()
        await response.aclose()
        await up.aclose()
    assert b"".join(received).count(b"event: ") == 2


async def test_a_non_stream_dropped_mid_body_is_retried_on_a_real_socket() -> None:
    async with FakeAnthropicServer() as fake:
        fake.script.drop()
        up = Upstream(UpstreamConfig(base_url=fake.url, retry=TINY))
        response = await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY)
        await up.aclose()
    assert response.retries == 1
    assert response.body is not None
    assert fake.log.last.headers["x-api-key"] == KEY


def test_retry_after_parsing() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after": "0.25"}) == 0.25
    from_date = retry_after({"retry-after": format_datetime(soon, usegmt=True)})
    assert from_date is not None
    assert 28 <= from_date <= 30
    past = datetime.now(UTC) - timedelta(seconds=30)
    assert retry_after({"retry-after": format_datetime(past, usegmt=True)}) == 0.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after": "-1"}) is None
    assert retry_after({"retry-after": "nan"}) is None
    assert retry_after({"retry-after-ms": "x", "retry-after": "1"}) == 1.0
    assert retry_after({}) is None


async def test_load_spreads_over_shards_and_every_connection_is_given_back() -> None:
    async with FakeAnthropicServer() as fake:
        fake.script.push(Drop(after_events=1)).fail(400).fail(529)
        up = Upstream(UpstreamConfig(base_url=fake.url, retry=TINY, pool_shards=4))
        stream_body = BODY[:-1] + b',"stream":true}'
        send = up.send
        broken = await send(
            "POST", "/v1/messages", headers=HEADERS, content=stream_body, stream=True
        )
        with pytest.raises(UpstreamUnavailable):
            async for _ in broken.iter_bytes():
                pass
        await broken.aclose()
        for _ in range(2):
            with pytest.raises(UpstreamStatusError):
                await send("POST", "/v1/messages", headers=HEADERS, content=BODY, max_retries=0)
        streams = [
            await send("POST", "/v1/messages", headers=HEADERS, content=stream_body, stream=True)
            for _ in range(6)
        ]
        assert up.in_flight == 6
        busy = sorted(shard.busy for shard in up._shards)
        assert busy == [1, 1, 2, 2]  # least busy first: spread, not piled on one pool
        for stream in streams:
            await stream.aclose()
            await stream.aclose()  # closing twice is harmless
        await send("POST", "/v1/messages", headers=HEADERS, content=BODY)
        assert up.in_flight == 0
        await up.aclose()
