"""The library client reports every call like the proxy does: ``on_outcome`` and ``record=``.

The official SDK inside ``tierwise.Anthropic`` talks to the fake Anthropic API over a socket;
the outcomes and the stored records are checked against what the SDK itself returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from anthropic.types import MessageParam

import tierwise
from tierwise.core.pricing import cost
from tierwise.core.usage import Usage
from tierwise.ledger.outcome import Outcome
from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer

SIMPLE: list[MessageParam] = [{"role": "user", "content": "Fix the typo in the README"}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def outcomes(fake: FakeAnthropicServer) -> list[Outcome]:
    fake.reset()
    return []


def _client(fake: FakeAnthropicServer, outcomes: list[Outcome]) -> tierwise.Anthropic:
    return tierwise.Anthropic(
        base_url=fake.url, api_key="test", max_retries=0, on_outcome=outcomes.append
    )


def test_create_reports_the_routing_usage_and_exact_costs(
    fake: FakeAnthropicServer, outcomes: list[Outcome]
) -> None:
    with _client(fake, outcomes) as client:
        message = client.messages.create(model="auto", max_tokens=50, messages=SIMPLE)
    (outcome,) = outcomes
    usage = Usage.from_api(message.usage)
    assert outcome.request_id == message._request_id
    assert outcome.status == 200
    assert not outcome.stream
    assert outcome.requested_model == "auto"
    assert outcome.served_model == message.model == "claude-haiku-5-5"
    assert outcome.decision is not None
    assert outcome.decision.tier.value == "haiku"
    assert outcome.usage == usage
    assert outcome.cost == cost(usage, message.model)
    assert outcome.baseline_model == outcome.decision.baseline_model
    assert outcome.baseline_cost == cost(usage, outcome.decision.baseline_model)
    assert outcome.decision_latency is not None
    assert outcome.upstream_latency is not None
    assert 0 <= outcome.decision_latency <= outcome.total_latency
    assert [attempt.model for attempt in outcome.attempts] == ["claude-haiku-5-5"]


def test_a_concrete_model_passes_through_and_is_still_reported(
    fake: FakeAnthropicServer, outcomes: list[Outcome]
) -> None:
    with _client(fake, outcomes) as client:
        client.messages.create(model="claude-opus-5-5", max_tokens=50, messages=SIMPLE)
    (outcome,) = outcomes
    assert outcome.routed is None
    assert outcome.served_model == "claude-opus-5-5"
    assert outcome.baseline_model == "claude-opus-5-5"
    assert outcome.cost == outcome.baseline_cost


def test_message_streams_report_when_their_block_ends(
    fake: FakeAnthropicServer, outcomes: list[Outcome]
) -> None:
    with (
        _client(fake, outcomes) as client,
        client.messages.stream(model="auto", max_tokens=50, messages=SIMPLE) as stream,
    ):
        final = stream.get_final_message()
        assert outcomes == []  # not before the stream is done with
    (outcome,) = outcomes
    assert outcome.stream
    assert outcome.request_id == stream.request_id
    assert outcome.served_model == final.model
    assert outcome.usage == Usage.from_api(final.usage)
    assert outcome.usage is not None
    assert outcome.usage.output_tokens > 0
    assert outcome.ttfb is not None
    assert outcome.ttfb <= outcome.total_latency


def test_raw_streams_report_when_consumed(
    fake: FakeAnthropicServer, outcomes: list[Outcome]
) -> None:
    with _client(fake, outcomes) as client:
        events = client.messages.create(model="auto", max_tokens=50, messages=SIMPLE, stream=True)
        kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    (outcome,) = outcomes
    assert outcome.stream
    assert outcome.served_model == "claude-haiku-5-5"
    assert outcome.usage is not None
    assert outcome.usage.input_tokens > 0
    assert outcome.usage.output_tokens > 0
    assert outcome.cost is not None


def test_an_api_error_is_reported_and_still_raised(
    fake: FakeAnthropicServer, outcomes: list[Outcome]
) -> None:
    fake.script.overloaded()
    with _client(fake, outcomes) as client, pytest.raises(anthropic.InternalServerError):
        client.messages.create(model="auto", max_tokens=50, messages=SIMPLE)
    (outcome,) = outcomes
    assert outcome.status == 529
    assert outcome.error_type == "overloaded_error"
    assert outcome.served_model is None
    assert outcome.cost is None
    assert outcome.decision is not None


def test_a_failing_hook_never_breaks_the_call(fake: FakeAnthropicServer) -> None:
    def broken(outcome: Outcome) -> None:
        raise RuntimeError("the hook is broken")

    with tierwise.Anthropic(base_url=fake.url, api_key="t", on_outcome=broken) as client:
        message = client.messages.create(model="auto", max_tokens=50, messages=SIMPLE)
    assert message.model == "claude-haiku-5-5"


def test_record_writes_the_same_records_the_proxy_writes(
    fake: FakeAnthropicServer, outcomes: list[Outcome], tmp_path: Path
) -> None:
    database = tmp_path / "client.db"
    with tierwise.Anthropic(
        base_url=fake.url,
        api_key="test",
        max_retries=0,
        record=str(database),
        on_outcome=outcomes.append,
    ) as client:
        copy = client.with_options(timeout=30)  # copies share the recorder
        client.messages.create(model="auto", max_tokens=50, messages=SIMPLE)
        copy.messages.create(model="auto", max_tokens=50, messages=SIMPLE)
        with client.messages.stream(model="auto", max_tokens=50, messages=SIMPLE) as stream:
            stream.until_done()
    # leaving the block closed the client, which flushed its recorder
    with Store(str(database)) as store:
        records = {record.request_id: record for record in store.records()}
    assert set(records) == {outcome.request_id for outcome in outcomes}
    assert len(records) == 3
    for outcome in outcomes:
        record = records[outcome.request_id]
        assert outcome.cost is not None
        assert record.cost_usd == outcome.cost.total
        assert record.served_model == outcome.served_model
        assert record.routed
        assert record.policy_fingerprint is not None
    assert sum(record.stream for record in records.values()) == 1


@pytest.mark.anyio
async def test_the_async_client_reports_creates_and_streams(
    fake: FakeAnthropicServer, outcomes: list[Outcome]
) -> None:
    async with tierwise.AsyncAnthropic(
        base_url=fake.url, api_key="test", max_retries=0, on_outcome=outcomes.append
    ) as client:
        message = await client.messages.create(model="auto", max_tokens=50, messages=SIMPLE)
        async with client.messages.stream(model="auto", max_tokens=50, messages=SIMPLE) as stream:
            final = await stream.get_final_message()
        raw = await client.messages.create(
            model="auto", max_tokens=50, messages=SIMPLE, stream=True
        )
        async for _ in raw:
            pass
    assert [outcome.stream for outcome in outcomes] == [False, True, True]
    assert outcomes[0].request_id == message._request_id
    assert outcomes[1].usage == Usage.from_api(final.usage)
    assert all(outcome.served_model == "claude-haiku-5-5" for outcome in outcomes)
    assert all(outcome.cost is not None for outcome in outcomes)
