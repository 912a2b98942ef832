"""The fake server from async code: ``AsyncAnthropic`` over a socket, and the bare ASGI app."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tierwise.testing import FakeAnthropicServer, FakeConfig, fake_anthropic_app

pytestmark = pytest.mark.anyio

HELLO: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hi from async code"}]


async def test_async_client_create_and_stream() -> None:
    async with (
        FakeAnthropicServer() as fake,
        anthropic.AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0) as client,
    ):
        message = await client.messages.create(
            model="claude-haiku-5-5", max_tokens=100, messages=HELLO
        )
        async with client.messages.stream(
            model="claude-haiku-5-5", max_tokens=100, messages=HELLO
        ) as stream:
            pieces = [piece async for piece in stream.text_stream]
            final = await stream.get_final_message()

    assert "".join(pieces) == "[claude-haiku-5-5] ok: Hi from async code"
    assert final.usage.output_tokens == message.usage.output_tokens
    assert fake.log.models() == ["claude-haiku-5-5", "claude-haiku-5-5"]
    assert fake.log.last.headers["x-stainless-async"].startswith("async:")


async def test_async_errors() -> None:
    async with (
        FakeAnthropicServer() as fake,
        anthropic.AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0) as client,
    ):
        fake.script.rate_limited(retry_after=3).stream_error(after_events=2)
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(model="claude-opus-5-5", max_tokens=5, messages=HELLO)
        assert caught.value.response.headers["retry-after"] == "3"

        stream = await client.messages.create(
            model="claude-opus-5-5", max_tokens=100, messages=HELLO, stream=True
        )
        with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
            await drain(stream)

        fake.script.drop()
        with pytest.raises(anthropic.APIConnectionError):
            await client.messages.create(model="claude-opus-5-5", max_tokens=5, messages=HELLO)


async def drain(stream: anthropic.AsyncStream[anthropic.types.RawMessageStreamEvent]) -> None:
    async with stream:
        async for _ in stream:
            pass


async def test_in_process_app_without_a_socket() -> None:
    config = FakeConfig()
    config.script.reply("in-process")
    transport = httpx.ASGITransport(app=fake_anthropic_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        response = await http.post(
            "/v1/messages",
            json={"model": "claude-haiku-5-5", "max_tokens": 50, "messages": HELLO},
            headers={"anthropic-version": "2023-06-01"},
        )
        count = await http.post(
            "/v1/messages/count_tokens",
            json={"model": "claude-haiku-5-5", "messages": HELLO},
            headers={"anthropic-version": "2023-06-01"},
        )

    assert response.status_code == 200
    assert response.json()["content"] == [{"type": "text", "text": "in-process"}]
    assert count.json() == {"input_tokens": response.json()["usage"]["input_tokens"]}
    assert [r.path for r in config.log] == ["/v1/messages", "/v1/messages/count_tokens"]
