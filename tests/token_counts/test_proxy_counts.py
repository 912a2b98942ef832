"""Token counts in the proxy, over real sockets with the official SDK: near a threshold the
prompt is counted and the decision uses the count; far from all, no call; cached; failures
fall back to the estimate with the reason in the trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx

from tierwise.core.policy import default_policy
from tierwise.ledger.outcome import Outcome
from tierwise.ledger.records import DecisionRecord
from tierwise.messages.hints import Hints
from tierwise.messages.parse import route_request_from_body
from tierwise.testing import FakeAnthropicServer, input_tokens

from .conftest import count_calls, counting, running_proxy, troubled_upstream

SONNET, OPUS = "claude-sonnet-5-5", "claude-opus-5-5"
# ~42,000 tokens by the offline estimate (over deep_read_tokens = 40,000: opus), ~30,000 by
# the fake API's count (under it, over large_read_tokens = 12,000: sonnet)
HUGE = "Find the bug in this code:\n```\n" + "ab " * 35_000 + "\n```"
SMALL = "Find the bug in this code:\n```\nx = 1\n```"
KEY = "sk-ant-caller"


def _body(text: str) -> dict[str, Any]:
    return {"model": "auto", "max_tokens": 100, "messages": [{"role": "user", "content": text}]}


def _ask(url: str, text: str, key: str = KEY) -> anthropic.types.Message:
    body = _body(text)
    with anthropic.Anthropic(base_url=url, api_key=key, max_retries=0) as sdk:
        return sdk.messages.create(
            model=body["model"], max_tokens=body["max_tokens"], messages=body["messages"]
        )


def _estimate(text: str) -> int:
    tokens = route_request_from_body(_body(text), Hints()).context_tokens
    assert tokens is not None
    return tokens


def _counted_by_fake(text: str) -> int:
    return input_tokens({"messages": _body(text)["messages"]})


def _count_verdict(outcome: Outcome) -> str:
    assert outcome.decision is not None
    found = [v for v in outcome.decision.trace if v.strategy == "token_count"]
    assert len(found) == 1, outcome.decision.trace
    assert found[0].action == "pass"
    return found[0].reason


def test_the_prompt_mix_is_what_the_tests_assume() -> None:
    policy = default_policy().config.context
    assert _estimate(HUGE) >= policy.deep_read_tokens > _counted_by_fake(HUGE)
    assert _counted_by_fake(HUGE) >= policy.large_read_tokens
    assert _estimate(SMALL) < policy.large_read_tokens * (1 - policy.count_band)


def test_near_the_deep_read_threshold_the_count_decides(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    with running_proxy(fake.url, counting(tmp_path)) as proxy:
        message = _ask(proxy.url, HUGE)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == SONNET  # the estimate alone would have sent it to opus
    (call,) = count_calls(fake.log.snapshot())
    sent = call.headers.get("x-api-key") or call.headers["authorization"].removeprefix("Bearer ")
    assert sent == KEY  # the caller's own key
    assert call.body["model"] == OPUS  # counted on the model the estimate chose
    assert call.body["messages"] == _body(HUGE)["messages"]
    assert "max_tokens" not in call.body
    counted, estimate = _counted_by_fake(HUGE), _estimate(HUGE)
    assert outcome.decision is not None
    assert outcome.decision.context_tokens == counted
    reason = _count_verdict(outcome)
    assert "within 25% of context.deep_read_tokens (40,000)" in reason
    assert f"count_tokens: {counted:,}" in reason
    assert f"decided with the count instead of the estimate ~{estimate:,}" in reason
    context = next(v for v in outcome.decision.trace if v.strategy == "context_size")
    assert f"{counted:,} tokens of context" in context.reason
    record = DecisionRecord.from_outcome(outcome)
    assert (record.context_tokens, record.counted_context_tokens) == (estimate, counted)
    assert record.chosen_model == SONNET


def test_counting_is_off_unless_the_policy_turns_it_on(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    with running_proxy(fake.url, default_policy()) as proxy:
        assert _ask(proxy.url, HUGE).model == OPUS
        (outcome,) = proxy.wait_outcomes(1)
    assert count_calls(fake.log.snapshot()) == []
    assert DecisionRecord.from_outcome(outcome).counted_context_tokens is None


def test_a_prompt_far_from_every_threshold_makes_no_count_call(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    with running_proxy(fake.url, counting(tmp_path)) as proxy:
        assert _ask(proxy.url, SMALL).model == SONNET
        (outcome,) = proxy.wait_outcomes(1)
    assert len(fake.log.messages()) == 1
    assert count_calls(fake.log.snapshot()) == []
    assert outcome.decision is not None
    assert all(v.strategy != "token_count" for v in outcome.decision.trace)
    record = DecisionRecord.from_outcome(outcome)
    assert record.context_tokens == _estimate(SMALL)
    assert record.counted_context_tokens is None


def test_a_repeated_prompt_is_counted_once(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    with running_proxy(fake.url, counting(tmp_path)) as proxy:
        assert _ask(proxy.url, HUGE).model == SONNET
        assert _ask(proxy.url, HUGE).model == SONNET
        first, second = proxy.wait_outcomes(2)
        assert len(proxy.endpoint.counter.cache) == 1  # type: ignore[union-attr]
    assert len(count_calls(fake.log.snapshot())) == 1
    assert "(cached)" not in _count_verdict(first)
    assert "(cached)" in _count_verdict(second)
    record = DecisionRecord.from_outcome(second)
    assert record.counted_context_tokens == _counted_by_fake(HUGE)


def test_a_count_timeout_falls_back_to_the_estimate(tmp_path: Path) -> None:
    with (
        troubled_upstream(delay=1.0) as upstream,
        running_proxy(upstream.url, counting(tmp_path, timeout=0.2)) as proxy,
    ):
        message = _ask(proxy.url, HUGE)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == OPUS  # the estimate's decision
    assert outcome.status == 200
    reason = _count_verdict(outcome)
    assert "count_tokens timed out after 0.2s: decided with the estimate" in reason
    assert outcome.decision is not None
    assert outcome.decision.context_tokens == _estimate(HUGE)
    assert DecisionRecord.from_outcome(outcome).counted_context_tokens is None


def test_a_count_error_falls_back_to_the_estimate_with_the_reason(tmp_path: Path) -> None:
    with (
        troubled_upstream(status=529) as upstream,
        running_proxy(upstream.url, counting(tmp_path)) as proxy,
    ):
        message = _ask(proxy.url, HUGE)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == OPUS
    assert [r.path for r in upstream.config.log.snapshot()] == ["/v1/messages"]
    reason = _count_verdict(outcome)
    assert "count_tokens failed (overloaded_error, HTTP 529): decided with the estimate" in reason
    assert DecisionRecord.from_outcome(outcome).counted_context_tokens is None


def test_in_server_key_mode_the_count_uses_the_server_key(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    with running_proxy(fake.url, counting(tmp_path), server_key="sk-ant-server") as proxy:
        assert _ask(proxy.url, HUGE, key="caller-key").model == SONNET
    (call,) = count_calls(fake.log.snapshot())
    assert call.headers["x-api-key"] == "sk-ant-server"
    assert "authorization" not in call.headers


def test_without_any_key_nothing_is_counted_and_the_trace_says_why(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    with running_proxy(fake.url, counting(tmp_path)) as proxy:
        response = httpx.post(
            f"{proxy.url}/v1/messages",
            json=_body(HUGE),
            headers={"anthropic-version": "2023-06-01"},
            timeout=10,
        )
        (outcome,) = proxy.wait_outcomes(1)
    assert response.status_code == 200  # the fake takes keyless requests (the real API would not)
    assert count_calls(fake.log.snapshot()) == []
    assert "skipped: no API key to count with: decided with the estimate" in _count_verdict(outcome)
