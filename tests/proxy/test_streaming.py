"""Streams through the proxy: relayed as they arrive, errors surfaced, disconnects propagated."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anthropic
import anyio
import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import Drop, Fail, FakeAnthropicServer, Inject, Reply, StreamError

from .conftest import ProxyFactory
from .harness import FAST_RETRIES, HELLO, VERSION, Proxy

STREAM_BODY: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 300,
    "stream": True,
    "messages": HELLO,
}


def frames(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(event, data)`` for each SSE frame of ``text``."""
    out = []
    for frame in text.split("\n\n"):
        if frame.strip():
            event, data = frame.split("\n", 1)
            out.append((event.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def test_sdk_stream_helper_through_the_proxy(proxy: Proxy, client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="auto",
        max_tokens=300,
        messages=HELLO,
        extra_headers={"x-tierwise-task-type": "implement"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        headers = stream.response.headers
    assert text == "[claude-sonnet-5-5] ok: Say hello to the proxy"
    assert final.stop_reason == "end_turn"
    assert headers["x-tierwise-model"] == "claude-sonnet-5-5"
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["request-id"] == proxy.fake.log.last.request_id
    assert "content-length" not in headers
    (outcome,) = proxy.wait_outcomes()
    assert outcome.stream
    assert outcome.usage is not None
    assert outcome.usage.output_tokens == final.usage.output_tokens
    assert outcome.usage.input_tokens == final.usage.input_tokens
    assert outcome.ttfb is not None
    assert outcome.error_type is None


def test_async_sdk_stream(proxy: Proxy) -> None:
    async def run() -> str:
        async with (
            proxy.async_sdk() as client,
            client.messages.stream(model="claude-haiku-5-5", max_tokens=100, messages=HELLO) as s,
        ):
            return "".join([piece async for piece in s.text_stream])

    assert anyio.run(run) == "[claude-haiku-5-5] ok: Say hello to the proxy"


def test_stream_bytes_are_relayed_unchanged(proxy: Proxy) -> None:
    """The proxy's stream is the fake's stream, event for event, unknown events included."""
    future = Inject(after_events=2, event="future_event", data={"type": "future_event", "n": 1})
    proxy.fake.script.push(Reply(text="one two three", inject=[future]))
    with httpx.stream("POST", f"{proxy.url}/v1/messages", json=STREAM_BODY, headers=VERSION) as r:
        body = r.read().decode()
    events = frames(body)
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"
    assert ("future_event", {"type": "future_event", "n": 1}) in events
    assert "ping" in names
    assert body.endswith("\n\n")


def test_unknown_events_pass_through_the_sdk(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.push(Reply(inject=[Inject(after_events=3)]))
    with client.messages.stream(model="claude-haiku-5-5", max_tokens=100, messages=HELLO) as s:
        types = [event.type for event in s]
        message = s.get_final_message()
    assert "future_event" in types
    assert message.stop_reason == "end_turn"


def test_stream_usage_takes_cache_split_from_start_and_counts_from_last_delta(
    proxy: Proxy,
) -> None:
    usage = {
        "cache_creation_input_tokens": 300,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        "cache_read_input_tokens": 50,
    }
    proxy.fake.script.push(Reply(text="a b c d", usage=usage))
    with httpx.stream("POST", f"{proxy.url}/v1/messages", json=STREAM_BODY, headers=VERSION) as r:
        events = frames(r.read().decode())
    final = [data for name, data in events if name == "message_delta"][-1]["usage"]
    (outcome,) = proxy.wait_outcomes()
    assert outcome.usage is not None
    assert outcome.usage.cache_write_5m_tokens == 100
    assert outcome.usage.cache_write_1h_tokens == 200
    assert outcome.usage.cache_read_tokens == 50
    assert outcome.usage.output_tokens == final["output_tokens"] > 1


def test_mid_stream_error_event_reaches_the_sdk(proxy: Proxy, client: anthropic.Anthropic) -> None:
    proxy.fake.script.stream_error(after_events=4, error_type="overloaded_error")
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model="claude-haiku-5-5", max_tokens=300, messages=HELLO) as s,
    ):
        for _ in s:
            pass
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert len(proxy.fake.log.messages()) == 1  # nothing is retried once the stream started
    (outcome,) = proxy.wait_outcomes()
    assert outcome.status == 200
    assert outcome.error_type == "overloaded_error"


def test_dropped_upstream_mid_stream_becomes_an_error_event(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    proxy.fake.script.push(Drop(after_events=3))
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model="claude-haiku-5-5", max_tokens=300, messages=HELLO) as s,
    ):
        received.extend(event.type for event in s)
    assert received == ["message_start", "content_block_start"]
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "api_error"
    assert caught.value.body["request_id"].startswith("req_tierwise_")
    assert len(proxy.fake.log.messages()) == 1
    (outcome,) = proxy.wait_outcomes()
    assert outcome.error_type == "api_error"


def test_drop_before_the_first_byte_is_retried_not_an_error_event(proxy: Proxy) -> None:
    """The upstream sent its 200 headers and closed before any event: nothing had reached the
    caller, so the proxy retries and the caller sees one whole stream (it used to get a 200
    and a lone ``event: error``)."""
    proxy.fake.script.push(Drop(after_events=0))
    with httpx.stream("POST", f"{proxy.url}/v1/messages", json=STREAM_BODY, headers=VERSION) as r:
        events = frames(r.read().decode())
    assert r.status_code == 200
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"
    assert "error" not in names
    assert len(proxy.fake.log.messages()) == 2  # the drop, then the retry
    (outcome,) = proxy.wait_outcomes()
    assert outcome.error_type is None
    assert [attempt.retries for attempt in outcome.attempts] == [1]  # one model, one retry


def test_stream_retries_before_the_status_arrives(
    proxy: Proxy, client: anthropic.Anthropic
) -> None:
    proxy.fake.script.overloaded().push(StreamError(after_events=2, error_type="api_error"))
    with (
        client.messages.stream(model="claude-haiku-5-5", max_tokens=100, messages=HELLO) as s,
        pytest.raises(anthropic.APIStatusError),
    ):
        s.until_done()
    # 529 → retried; the 200 stream then broke (not retried)
    assert len(proxy.fake.log.messages()) == 2


class DisconnectSpy:
    """Wraps the fake's app to see when the proxy hangs up and how much the fake sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.disconnected = threading.Event()
        self.chunks = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def spy_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
            return message

        async def spy_send(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                self.chunks += 1
            await send(message)

        await self.app(scope, spy_receive, spy_send)


def test_client_disconnect_cancels_the_upstream_request(make_proxy: ProxyFactory) -> None:
    fake = FakeAnthropicServer()
    spy = DisconnectSpy(fake.app)
    setattr(fake, "app", spy)  # noqa: B010  (the fake serves whatever app it holds)
    words = " ".join(f"w{i}" for i in range(200))
    fake.script.push(Reply(text=words, chunk_delay=0.02))  # ~4 s if read to the end
    with fake:
        proxy = make_proxy(upstream=UpstreamConfig(base_url=fake.url, retry=FAST_RETRIES))
        started = time.monotonic()
        with httpx.stream(
            "POST", f"{proxy.url}/v1/messages", json=STREAM_BODY, headers=VERSION
        ) as response:
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("data:") and "text_delta" in line:
                    break
        assert spy.disconnected.wait(timeout=2.0), "the upstream never saw the proxy hang up"
        (outcome,) = proxy.wait_outcomes()
    assert time.monotonic() - started < 3.0
    assert outcome.error_type == "client_disconnected"
    assert spy.chunks < 100


def test_two_hundred_concurrent_streams_do_not_mix(proxy: Proxy) -> None:
    count = 200

    async def one(client: anthropic.AsyncAnthropic, index: int, texts: dict[int, str]) -> None:
        marker = f"marker{index:03d}"
        async with client.messages.stream(
            model="claude-haiku-5-5",
            max_tokens=100,
            messages=[{"role": "user", "content": f"{marker} tell me something"}],
        ) as stream:
            texts[index] = "".join([piece async for piece in stream.text_stream])

    async def run() -> dict[int, str]:
        texts: dict[int, str] = {}
        async with proxy.async_sdk(timeout=60) as client, anyio.create_task_group() as group:
            for index in range(count):
                group.start_soon(one, client, index, texts)
        return texts

    texts = anyio.run(run)
    assert len(texts) == count
    for index, text in texts.items():
        assert text == f"[claude-haiku-5-5] ok: marker{index:03d} tell me something"
    assert len(proxy.fake.log.messages()) == count


def test_client_leaving_a_long_non_streaming_request_cancels_it(proxy: Proxy) -> None:
    proxy.fake.script.push(Reply(latency=3.0))
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION, timeout=0.3)
    (outcome,) = proxy.wait_outcomes(timeout=2.0)
    assert time.monotonic() - started < 2.0  # not the 3 s the upstream would have taken
    assert outcome.status == 499
    assert outcome.error_type == "client_disconnected"


def test_a_stream_cut_short_is_billed_for_what_was_relayed(proxy: Proxy) -> None:
    """The client leaves after eight text deltas: no ``message_delta`` ever carried the final
    count, so the output is counted from the deltas relayed and marked as an estimate (it used
    to be ``message_start``'s placeholder, 1 token)."""
    words = " ".join(f"word{i:04d}" for i in range(300))
    proxy.fake.script.push(Reply(text=words, chunk_delay=0.02))
    relayed = 0
    with httpx.stream("POST", f"{proxy.url}/v1/messages", json=STREAM_BODY, headers=VERSION) as r:
        for line in r.iter_lines():
            if line.startswith("data:") and "text_delta" in line:
                relayed += 1
                if relayed == 8:
                    break
    (outcome,) = proxy.wait_outcomes(timeout=3.0)
    assert outcome.error_type == "client_disconnected"
    assert outcome.usage_estimated
    assert outcome.usage is not None
    # eight deltas of about nine characters: two to three tokens each
    assert 8 <= outcome.usage.output_tokens <= 40


def test_a_client_leaving_during_a_retry_wait_keeps_the_attempt(proxy: Proxy) -> None:
    """The upstream answered 529 and the proxy waits to retry when the client gives up: the
    call that was made is recorded, not an empty list of attempts."""
    proxy.fake.script.push(Fail(529, headers={"retry-after": "2"}))
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION, timeout=0.5)
    (outcome,) = proxy.wait_outcomes(timeout=3.0)
    assert outcome.status == 499
    assert [attempt.model for attempt in outcome.attempts] == ["claude-haiku-5-5"]
    assert outcome.attempts[0].error_type == "client_disconnected"
