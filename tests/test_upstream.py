"""The upstream client: retries and their limits, retry headers, the typed error tree, and what
goes on the wire. The upstream is the fake Anthropic API on a real socket."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import pytest

from tierwise.core.errors import TierwiseError
from tierwise.serving.retries import retry_after
from tierwise.serving.upstream import (
    RetryPolicy,
    Upstream,
    UpstreamConfig,
    UpstreamError,
    UpstreamResponse,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tierwise.testing import Drop, Fail, FakeAnthropicServer, Reply

pytestmark = pytest.mark.anyio

TINY = RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.002, max_total_wait=1.0)
KEY = "sk-ant-secret-key-000"
HEADERS = [(b"x-api-key", KEY.encode()), (b"anthropic-version", b"2023-06-01")]
BODY = b'{"model":"claude-haiku-5-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
STREAM_BODY = BODY[:-1] + b',"stream":true}'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeAnthropicServer) -> FakeAnthropicServer:
    shared_fake.reset()
    shared_fake.script.set_default(Reply())
    return shared_fake


def upstream(
    fake: FakeAnthropicServer, retry: RetryPolicy = TINY, read_timeout: float = 5.0
) -> Upstream:
    return Upstream(UpstreamConfig(base_url=fake.url, retry=retry, read_timeout=read_timeout))


async def send(up: Upstream, **options: object) -> UpstreamResponse:
    """One ``POST /v1/messages``, then the pool is closed."""
    try:
        return await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY, **options)  # type: ignore[arg-type]
    finally:
        await up.aclose()


def arrivals(fake: FakeAnthropicServer) -> list[float]:
    return [request.time for request in fake.log.messages()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("status", [429, 529, 500, 503])
async def test_capacity_errors_are_retried(fake: FakeAnthropicServer, status: int) -> None:
    fake.script.fail(status)
    response = await send(upstream(fake))
    assert response.status == 200
    assert response.body is not None
    assert b'"type":"message"' in response.body
    assert len(arrivals(fake)) == 2


async def test_retry_count_is_reported(fake: FakeAnthropicServer) -> None:
    fake.script.overloaded().overloaded()
    response = await send(upstream(fake))
    assert response.retries == 2
    assert response.status == 200
    assert response.latency > 0
    assert any(name.lower() == b"request-id" for name, _ in response.headers)


async def test_attempts_are_bounded_and_the_last_error_is_raised(
    fake: FakeAnthropicServer,
) -> None:
    fake.script.set_default(Fail(529))
    with pytest.raises(UpstreamStatusError) as caught:
        await send(upstream(fake))
    assert len(arrivals(fake)) == 3
    assert caught.value.retries == 2
    assert caught.value.status == 529
    assert caught.value.error_type == "overloaded_error"
    assert caught.value.fallback_eligible
    assert b'"overloaded_error"' in caught.value.body
    assert (b"content-type", b"application/json") in caught.value.headers
    assert isinstance(caught.value, TierwiseError)


async def test_max_retries_can_be_lowered_per_call(fake: FakeAnthropicServer) -> None:
    fake.script.set_default(Fail(529))
    with pytest.raises(UpstreamStatusError):
        await send(upstream(fake), max_retries=0)
    assert len(arrivals(fake)) == 1


async def test_request_errors_are_not_retried(fake: FakeAnthropicServer) -> None:
    fake.script.fail(400)
    with pytest.raises(UpstreamStatusError) as caught:
        await send(upstream(fake))
    assert len(arrivals(fake)) == 1
    assert not caught.value.fallback_eligible
    assert caught.value.error_type == "invalid_request_error"


async def test_x_should_retry_overrides_the_status(fake: FakeAnthropicServer) -> None:
    fake.script.fail(529, headers={"x-should-retry": "false"})
    with pytest.raises(UpstreamStatusError):
        await send(upstream(fake))
    assert len(arrivals(fake)) == 1
    fake.log.clear()
    fake.script.fail(409, headers={"x-should-retry": "true"})
    await send(upstream(fake))
    assert len(arrivals(fake)) == 2


async def test_retry_after_is_honoured(fake: FakeAnthropicServer) -> None:
    fake.script.rate_limited(retry_after=0.2)
    await send(upstream(fake))
    first, second = arrivals(fake)
    assert second - first >= 0.19


async def test_a_retry_after_beyond_the_wait_budget_ends_the_retries(
    fake: FakeAnthropicServer,
) -> None:
    fake.script.rate_limited(retry_after=30)
    started = time.monotonic()
    with pytest.raises(UpstreamStatusError):
        await send(upstream(fake))
    assert len(arrivals(fake)) == 1
    assert time.monotonic() - started < 1


async def test_backoff_grows_within_its_bounds(
    fake: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def record(delay: float) -> None:
        if delay:  # the fake server's own sleep(0)s go through the patched module too
            slept.append(delay)

    monkeypatch.setattr("tierwise.serving.upstream.anyio.sleep", record)
    policy = RetryPolicy(max_retries=4, base_delay=0.5, max_delay=1.5, jitter=0.25)
    fake.script.push(*[Fail(500)] * 4)
    await send(upstream(fake, policy))
    assert len(slept) == 4
    for delay, nominal in zip(slept, [0.5, 1.0, 1.5, 1.5], strict=True):
        assert nominal * 0.75 <= delay <= nominal


async def test_a_dropped_connection_is_retried(fake: FakeAnthropicServer) -> None:
    fake.script.drop()
    response = await send(upstream(fake))
    assert response.retries == 1
    assert response.body is not None
    assert len(arrivals(fake)) == 2
    assert fake.log.last.headers["x-api-key"] == KEY


async def test_a_refused_connection_is_translated() -> None:
    port = closed_port()
    up = Upstream(UpstreamConfig(base_url=f"http://127.0.0.1:{port}", retry=TINY))
    with pytest.raises(UpstreamUnavailable) as caught:
        await send(up)
    assert caught.value.retries == 2
    assert KEY not in str(caught.value)
    assert "cannot reach 127.0.0.1" in str(caught.value)
    assert caught.value.error_type == "api_error"
    assert caught.value.status is None
    assert caught.value.fallback_eligible


async def test_timeouts_are_translated(fake: FakeAnthropicServer) -> None:
    fake.script.set_default(Reply(latency=1.0))
    with pytest.raises(UpstreamTimeout) as caught:
        await send(upstream(fake, read_timeout=0.05))
    assert caught.value.error_type == "timeout_error"
    assert caught.value.retries == 2
    assert isinstance(caught.value, UpstreamError)
    assert KEY not in str(caught.value)


async def test_a_stream_is_returned_open(fake: FakeAnthropicServer) -> None:
    up = upstream(fake)
    response = await up.send(
        "POST", "/v1/messages", headers=HEADERS, content=STREAM_BODY, stream=True
    )
    assert response.body is None
    assert up.in_flight == 1
    chunks = [chunk async for chunk in response.iter_bytes()]
    await response.aclose()
    assert up.in_flight == 0
    await up.aclose()
    text = b"".join(chunks)
    assert text.startswith(b"event: message_start\ndata: {")
    assert text.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')


async def test_a_stream_error_status_is_read_and_raised(fake: FakeAnthropicServer) -> None:
    fake.script.fail(400)
    with pytest.raises(UpstreamStatusError) as caught:
        await send(upstream(fake), stream=True)
    assert caught.value.body.startswith(b'{"type":"error"')


async def test_a_stream_dropped_mid_body_raises_upstream_unavailable(
    fake: FakeAnthropicServer,
) -> None:
    fake.script.push(Drop(after_events=2))
    up = upstream(fake)
    response = await up.send(
        "POST", "/v1/messages", headers=HEADERS, content=STREAM_BODY, stream=True
    )
    received: list[bytes] = []
    await anyio.sleep(0.2)  # the events and the drop arrive before anything is read

    async def drain() -> None:
        async for chunk in response.iter_bytes():
            received.append(chunk)

    with pytest.raises(UpstreamUnavailable, match="broke mid-response"):
        await drain()
    await response.aclose()
    await up.aclose()
    # every byte that arrived before the drop, even those buffered when the error came
    assert b"".join(received).count(b"event: ") == 2


async def test_nothing_is_added_to_the_callers_headers(fake: FakeAnthropicServer) -> None:
    await send(upstream(fake))
    assert fake.log.last.headers == {
        "host": f"127.0.0.1:{fake.port}",
        "content-length": str(len(BODY)),
        "x-api-key": KEY,
        "anthropic-version": "2023-06-01",
        "accept-encoding": "identity",  # bodies are passed on raw, so none is asked for
    }


async def test_the_callers_headers_go_out_byte_for_byte(fake: FakeAnthropicServer) -> None:
    headers = [
        *HEADERS,
        (b"content-type", b"application/json"),
        (b"user-agent", b"Anthropic/Python 0.70.0"),
        (b"accept", b"application/json"),
        (b"accept-encoding", b"gzip, br"),
        (b"x-note", "café ☕".encode()),
    ]
    up = upstream(fake)
    await up.send("POST", "/v1/messages", headers=headers, content=BODY)
    await up.aclose()
    seen = fake.log.last.headers
    for name, value in headers:
        assert seen[name.decode()].encode("latin-1") == value  # the server decodes as Latin-1
    assert len(seen) == len(headers) + 2  # and host, content-length


async def test_no_cookie_is_kept_and_no_redirect_followed(fake: FakeAnthropicServer) -> None:
    fake.script.fail(307, "api_error", headers={"location": "/v1/elsewhere", "set-cookie": "a=b"})
    up = upstream(fake)
    with pytest.raises(UpstreamStatusError) as caught:
        await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY)
    assert caught.value.status == 307
    assert (b"location", b"/v1/elsewhere") in caught.value.headers
    await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY)
    await up.aclose()
    assert [r.path for r in fake.log] == ["/v1/messages", "/v1/messages"]
    assert "cookie" not in fake.log.last.headers


async def test_every_connection_is_given_back(fake: FakeAnthropicServer) -> None:
    fake.script.push(Drop(after_events=1)).fail(400).fail(529)
    up = upstream(fake)
    broken = await up.send(
        "POST", "/v1/messages", headers=HEADERS, content=STREAM_BODY, stream=True
    )
    with pytest.raises(UpstreamUnavailable):
        async for _ in broken.iter_bytes():
            pass
    await broken.aclose()
    for _ in range(2):
        with pytest.raises(UpstreamStatusError):
            await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY, max_retries=0)
    streams = [
        await up.send("POST", "/v1/messages", headers=HEADERS, content=STREAM_BODY, stream=True)
        for _ in range(6)
    ]
    assert up.in_flight == 6
    for response in streams:
        await response.aclose()
        await response.aclose()  # closing twice is harmless
    await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY)
    assert up.in_flight == 0
    await up.aclose()
    await up.aclose()  # so is closing the pool twice


async def test_the_pool_is_opened_lazily_and_can_be_reopened(fake: FakeAnthropicServer) -> None:
    up = upstream(fake)
    await up.aclose()  # never opened: nothing to close
    for _ in range(2):
        response = await up.send("POST", "/v1/messages", headers=HEADERS, content=BODY)
        assert response.status == 200
        await up.aclose()
    assert len(arrivals(fake)) == 2


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
