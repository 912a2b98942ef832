"""The LLM classifier in the proxy, over real sockets: grades, timeouts, the circuit, the cache."""

from __future__ import annotations

from pathlib import Path

import anthropic

from tierwise.ledger.records import DecisionRecord
from tierwise.testing import Fail, FakeAnthropicServer, Reply

from .conftest import (
    CONVERT,
    HAIKU,
    OPUS,
    VAGUE,
    answers,
    is_classifier,
    policy_with,
    running_proxy,
)

CLASSIFY = """
[classifier]
enabled = true
timeout = {timeout}
failures_to_open = 2
cooldown = 30
"""


def _ask(url: str, text: str = VAGUE) -> anthropic.types.Message:
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as sdk:
        return sdk.messages.create(
            model="auto", max_tokens=200, messages=[{"role": "user", "content": text}]
        )


def _classifier_calls(fake: FakeAnthropicServer) -> int:
    return sum(1 for request in fake.log.snapshot() if is_classifier(request))


def test_an_unsure_request_is_graded_and_moved_and_the_call_is_paid_for(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("COMPLEX", model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, CLASSIFY.format(timeout=2))) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == OPUS
    assert answers(fake) == [OPUS]
    (call,) = outcome.routing_calls
    assert (call.purpose, call.model, call.error) == ("classifier", HAIKU, None)
    assert call.cost is not None
    assert call.cost.total > 0
    served = outcome.trail_model if hasattr(outcome, "trail_model") else outcome.served_model
    assert served == OPUS
    assert outcome.decision is not None
    strategies = [v.strategy for v in outcome.decision.trace]
    assert strategies[-1] == "classifier"
    assert "graded it COMPLEX" in outcome.decision.reason
    record = DecisionRecord.from_outcome(outcome)
    assert record.routing_cost_usd == call.cost.total
    assert outcome.cost is not None
    assert record.cost_usd == outcome.cost.total + call.cost.total
    assert record.chosen_model == OPUS


def test_a_classifier_timeout_passes_and_the_request_is_still_served(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.push(Reply("COMPLEX", latency=1.0), model=HAIKU)  # too slow for the timeout
    with running_proxy(fake, policy_with(tmp_path, CLASSIFY.format(timeout=0.2))) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU  # brevity's choice stands
    assert outcome.status == 200
    assert outcome.decision is not None
    last = outcome.decision.trace[-1]
    assert last.strategy == "classifier"
    assert last.action == "pass"
    assert "timed out after 0.2s" in last.reason
    (call,) = outcome.routing_calls
    assert call.error is not None
    assert call.cost is None
    assert 0.2 <= call.latency < 1.0


def test_the_circuit_opens_after_repeated_failures_and_closes_after_the_cooldown(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    now = [1000.0]
    judge = "claude-haiku-4-5"  # its own model, so its script does not mix with the answers'
    fake.script.set_default(Fail(500), model=judge)
    policy = policy_with(tmp_path, CLASSIFY.format(timeout=2) + f'model = "{judge}"\n')
    with running_proxy(fake, policy) as proxy:
        proxy.endpoint.classifier.breaker.clock = lambda: now[0]  # type: ignore[union-attr]
        for n in range(3):
            assert _ask(proxy.url, f"{VAGUE} {n}").model == HAIKU
        assert _classifier_calls(fake) == 2  # the third request found the circuit open
        outcomes = proxy.wait_outcomes(3)
        assert [len(o.routing_calls) for o in outcomes] == [1, 1, 0]
        assert outcomes[2].decision is not None
        assert "circuit open" in outcomes[2].decision.trace[-1].reason
        now[0] += 29
        _ask(proxy.url, f"{VAGUE} still open")
        assert _classifier_calls(fake) == 2
        now[0] += 2  # past the cool-down: one trial call, which succeeds and closes it
        fake.script.set_default(Reply("COMPLEX"), model=judge)
        assert _ask(proxy.url, f"{VAGUE} after").model == OPUS
        assert _ask(proxy.url, f"{VAGUE} closed").model == OPUS
        assert proxy.endpoint.classifier.breaker.state == "closed"  # type: ignore[union-attr]
    assert _classifier_calls(fake) == 4


def test_answers_are_cached_by_text_and_sure_requests_are_not_graded(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("STANDARD", model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, CLASSIFY.format(timeout=2))) as proxy:
        first = _ask(proxy.url)
        second = _ask(proxy.url)
        third = _ask(proxy.url, CONVERT)  # keywords decided: no need to ask
        outcomes = proxy.wait_outcomes(3)
    assert first.model == second.model == "claude-sonnet-5-5"
    assert third.model == HAIKU
    assert _classifier_calls(fake) == 1
    assert outcomes[1].decision is not None
    assert outcomes[1].decision.trace[-1].reason.endswith("(cached)")
    assert outcomes[1].routing_calls == ()
    assert outcomes[2].decision is not None
    assert all(v.strategy != "classifier" for v in outcomes[2].decision.trace)


def test_a_ceiling_bounds_the_grade(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    fake.script.reply("COMPLEX", model=HAIKU)
    with (
        running_proxy(fake, policy_with(tmp_path, CLASSIFY.format(timeout=2))) as proxy,
        anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0) as sdk,
    ):
        message = sdk.messages.create(
            model="auto",
            max_tokens=100,
            messages=[{"role": "user", "content": VAGUE}],
            extra_headers={"x-tierwise-user-tier": "paid"},  # never above sonnet
        )
    assert message.model == "claude-sonnet-5-5"
