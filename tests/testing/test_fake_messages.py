"""Non-streaming ``/v1/messages``, count_tokens and models, through the official SDK."""

from __future__ import annotations

import textwrap

import anthropic
import httpx
import pytest

import tierwise.testing
from tierwise.testing import Fail, FakeAnthropicServer, FakeConfig, Reply, text_tokens

HELLO: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Hello there, please say something short and friendly."}
]
HEADERS = {"anthropic-version": "2023-06-01"}


def test_sdk_parses_the_message_and_its_usage(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="claude-haiku-5-5", max_tokens=200, messages=HELLO)

    assert message.id.startswith("msg_")
    assert message.model == "claude-haiku-5-5"
    assert message.role == "assistant"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.stop_details is None
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    assert (
        block.text == "[claude-haiku-5-5] ok: Hello there, please say something short and friendly."
    )
    usage = message.usage
    assert usage.input_tokens > 0
    assert usage.output_tokens == text_tokens(block.text)
    assert usage.cache_creation_input_tokens == 0
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert usage.service_tier == "standard"
    assert message._request_id is not None
    assert message._request_id.startswith("req_")


def test_message_ids_are_unique_and_input_tokens_grow_with_the_prompt(
    client: anthropic.Anthropic,
) -> None:
    short = client.messages.create(model="claude-opus-5-5", max_tokens=50, messages=HELLO)
    long_prompt: list[anthropic.types.MessageParam] = [{"role": "user", "content": "word " * 500}]
    long = client.messages.create(
        model="claude-opus-5-5", max_tokens=50, system="Be brief.", messages=long_prompt
    )

    assert short.id != long.id
    assert long.usage.input_tokens > short.usage.input_tokens + 500


def test_text_is_cut_at_max_tokens(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="claude-haiku-5-5", max_tokens=4, messages=HELLO)

    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 4
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    assert "[claude-haiku-5-5] ok: Hello".startswith(block.text)


def test_max_tokens_zero_returns_no_content(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="claude-haiku-5-5", max_tokens=0, messages=HELLO)

    assert message.content == []
    assert message.usage.output_tokens == 0
    assert message.stop_reason == "max_tokens"


def test_stop_sequences_end_the_text(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-haiku-5-5", max_tokens=100, messages=HELLO, stop_sequences=["please"]
    )

    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "please"
    assert message.content[0] == anthropic.types.TextBlock(
        type="text", text="[claude-haiku-5-5] ok: Hello there, "
    )


def test_scripted_replies_are_consumed_in_order_per_model(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.reply("first opus", model="claude-opus-5-5")
    fake.script.reply("second opus", model="claude-opus-5-5")
    fake.script.reply("any model")

    def text(model: str) -> str:
        block = client.messages.create(model=model, max_tokens=50, messages=HELLO).content[0]
        assert isinstance(block, anthropic.types.TextBlock)
        return block.text

    assert text("claude-haiku-5-5") == "any model"
    assert text("claude-opus-5-5") == "first opus"
    assert text("claude-opus-5-5") == "second opus"
    assert text("claude-opus-5-5").startswith("[claude-opus-5-5] ok:")
    assert fake.script.pending() == 0


def test_tool_use_and_thinking_blocks_with_usage_override(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.reply(
        content=[
            {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig-abc"},
            {"type": "tool_use", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        usage={"cache_read_input_tokens": 2048, "cache_creation_input_tokens": 100},
    )
    message = client.messages.create(model="claude-sonnet-5-5", max_tokens=500, messages=HELLO)

    thinking, tool = message.content
    assert isinstance(thinking, anthropic.types.ThinkingBlock)
    assert thinking.signature == "sig-abc"
    assert isinstance(tool, anthropic.types.ToolUseBlock)
    assert tool.id.startswith("toolu_")
    assert tool.input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"
    assert message.usage.cache_read_input_tokens == 2048
    assert message.usage.cache_creation is not None
    assert message.usage.cache_creation.ephemeral_5m_input_tokens == 100


def test_refusal_with_stop_details(fake: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    details = {"type": "refusal", "category": "cyber", "explanation": None}
    fake.script.push(Reply("", stop_reason="refusal", stop_details=details))
    message = client.messages.create(model="claude-fable-5-2", max_tokens=50, messages=HELLO)

    assert message.stop_reason == "refusal"
    assert message.stop_details is not None
    assert message.stop_details.category == "cyber"


def test_429_with_retry_after_is_a_rate_limit_error(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.rate_limited(retry_after=7)

    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)

    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "Number of request tokens has exceeded your per-minute rate limit",
        },
        "request_id": caught.value.request_id,
    }
    assert caught.value.request_id == caught.value.response.headers["request-id"]


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (529, anthropic.OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_scripted_http_errors_map_to_sdk_exceptions(
    fake: FakeAnthropicServer,
    client: anthropic.Anthropic,
    status: int,
    exception: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    fake.script.fail(status, headers={"x-should-retry": "false"})

    with pytest.raises(exception) as caught:
        client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)

    assert caught.value.status_code == status
    assert caught.value.type == error_type
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_sdk_retries_honour_the_script(fake: FakeAnthropicServer) -> None:
    fake.script.fail(529, headers={"retry-after-ms": "1"})
    fake.script.fail(429, headers={"retry-after-ms": "1"})
    with anthropic.Anthropic(base_url=fake.url, api_key="k", max_retries=2) as client:
        message = client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)

    assert message.stop_reason == "end_turn"
    assert [r.headers["x-stainless-retry-count"] for r in fake.log] == ["0", "1", "2"]


def test_a_raw_error_body_is_sent_verbatim(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.push(Fail(502, body="<html>Bad gateway</html>"))

    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)

    assert caught.value.status_code == 502
    assert caught.value.response.text == "<html>Bad gateway</html>"


def test_dropped_connection_is_a_connection_error(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script.drop()

    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)

    follow_up = client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)
    assert follow_up.stop_reason == "end_turn"


def test_latency_delays_the_response(fake: FakeAnthropicServer) -> None:
    fake.script.push(Reply(latency=0.3))
    with (
        anthropic.Anthropic(base_url=fake.url, api_key="k", max_retries=0, timeout=0.1) as client,
        pytest.raises(anthropic.APITimeoutError),
    ):
        client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=HELLO)


@pytest.mark.parametrize(
    ("body", "status", "error_type", "message"),
    [
        (b"{not json", 400, "invalid_request_error", "parsing the body"),
        (b"[1, 2]", 400, "invalid_request_error", "JSON object"),
        (b'{"max_tokens": 5, "messages": []}', 400, "invalid_request_error", "model: Field"),
        (
            b'{"model": "claude-haiku-5-5", "max_tokens": 5}',
            400,
            "invalid_request_error",
            "messages",
        ),
        (
            b'{"model": "claude-haiku-5-5", "messages": [{"role": "user", "content": "x"}]}',
            400,
            "invalid_request_error",
            "max_tokens: Field required",
        ),
        (
            b'{"model": "claude-haiku-5-5", "max_tokens": -1, '
            b'"messages": [{"role": "user", "content": "x"}]}',
            400,
            "invalid_request_error",
            "greater than or equal to 0",
        ),
        (
            b'{"model": "gpt-9", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}',
            404,
            "not_found_error",
            "model: gpt-9",
        ),
    ],
)
def test_validation_matches_the_api(
    fake: FakeAnthropicServer, body: bytes, status: int, error_type: str, message: str
) -> None:
    response = httpx.post(f"{fake.url}/v1/messages", content=body, headers=HEADERS)

    assert response.status_code == status
    payload = response.json()
    assert set(payload) == {"type", "error", "request_id"}
    assert payload["type"] == "error"
    assert payload["error"]["type"] == error_type
    assert message in payload["error"]["message"]
    assert payload["request_id"] == response.headers["request-id"]
    assert fake.log.last.raw_body == body


def test_validation_errors_reach_the_sdk_as_status_errors(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="gpt-9", max_tokens=5, messages=HELLO)


def test_sampling_params_are_rejected_on_api_version_2026_10_21(fake: FakeAnthropicServer) -> None:
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "temperature": 0.5, "messages": HELLO}
    new = httpx.post(
        f"{fake.url}/v1/messages", json=body, headers={"anthropic-version": "2026-10-21"}
    )
    old = httpx.post(f"{fake.url}/v1/messages", json=body, headers=HEADERS)

    assert new.status_code == 400
    assert "temperature" in new.json()["error"]["message"]
    assert old.status_code == 200


def test_missing_anthropic_version_is_rejected(fake: FakeAnthropicServer) -> None:
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    response = httpx.post(f"{fake.url}/v1/messages", json=body)

    assert response.status_code == 400
    assert "anthropic-version" in response.json()["error"]["message"]


def test_api_keys_are_checked_in_both_header_forms() -> None:
    with FakeAnthropicServer(FakeConfig(api_keys={"sk-good"})) as fake:
        with anthropic.Anthropic(base_url=fake.url, api_key="sk-good", max_retries=0) as good:
            assert good.messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)
        body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
        ok = httpx.post(
            f"{fake.url}/v1/messages", json=body, headers={**HEADERS, "x-api-key": "sk-good"}
        )
        assert ok.status_code == 200
        with (
            anthropic.Anthropic(base_url=fake.url, api_key="sk-bad", max_retries=0) as bad,
            pytest.raises(anthropic.AuthenticationError) as caught,
        ):
            bad.messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)
        assert caught.value.type == "authentication_error"
        assert fake.log.last.headers["authorization"] == "Bearer sk-bad"


def test_success_carries_rate_limit_and_request_id_headers(fake: FakeAnthropicServer) -> None:
    body = {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": HELLO}
    response = httpx.post(f"{fake.url}/v1/messages?beta=true", json=body, headers=HEADERS)

    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        for field in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{kind}-{field}" in response.headers
    assert fake.log.last.path == "/v1/messages"
    assert fake.log.last.query == "beta=true"


def test_the_log_shows_what_reached_the_server(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=50,
        messages=HELLO,
        metadata={"user_id": "u-1"},
        extra_headers={"anthropic-beta": "a-2026-01-01,b-2026-02-02", "x-custom": "1"},
    )

    request = fake.log.last
    assert request.method == "POST"
    assert request.model == "claude-sonnet-5-5"
    assert request.body["metadata"] == {"user_id": "u-1"}
    assert request.headers["anthropic-beta"] == "a-2026-01-01,b-2026-02-02"
    assert request.headers["anthropic-version"] == "2026-10-21"
    assert "x-api-key" not in request.headers
    assert fake.log.models() == ["claude-sonnet-5-5"]


def test_count_tokens_uses_the_same_estimate(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model="claude-opus-5-5", messages=HELLO, system="Hi")
    message = client.messages.create(
        model="claude-opus-5-5", max_tokens=5, messages=HELLO, system="Hi"
    )

    assert counted.input_tokens == message.usage.input_tokens


def test_models_list_and_retrieve(client: anthropic.Anthropic) -> None:
    page = client.models.list()
    ids = [model.id for model in page.data]

    assert ids == ["claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-2"]
    assert page.has_more is False
    assert page.first_id == "claude-haiku-5-5"
    assert page.last_id == "claude-fable-5-2"
    opus = client.models.retrieve("claude-opus-5-5")
    assert opus.display_name == "Claude Opus 5.5"
    assert opus.type == "model"
    assert opus.line == "opus"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nothing-1")


def test_models_paginate_through_the_sdk() -> None:
    ids = [f"claude-sonnet-{n}" for n in range(5)]
    with (
        FakeAnthropicServer(FakeConfig(models=ids)) as fake,
        anthropic.Anthropic(base_url=fake.url, api_key="k") as client,
    ):
        seen = [model.id for model in client.models.list(limit=2)]

    assert seen == ids


def test_unknown_paths_get_an_anthropic_404(fake: FakeAnthropicServer) -> None:
    response = httpx.get(f"{fake.url}/v1/nothing", headers=HEADERS)

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
    assert httpx.head(fake.url).status_code == 200


def test_the_documented_example_runs() -> None:
    doc = tierwise.testing.__doc__ or ""
    code = textwrap.dedent(doc.split("::\n")[1].split("\nUnscripted")[0])
    namespace: dict[str, object] = {}
    exec(code, namespace)
    test = namespace["test_my_code_survives_a_rate_limit"]
    assert callable(test)
    test()
