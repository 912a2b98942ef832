"""The cascade in the proxy, over real sockets: check each answer, climb the ladder, record all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest

from tierwise.ledger.records import DecisionRecord
from tierwise.testing import FakeAnthropicServer

from .conftest import CONVERT, HAIKU, OPUS, SONNET, answers, policy_with, running_proxy

ESCALATE = """
[escalation]
enabled = true
[escalation.validators]
"*" = [{ kind = "non_empty" }, { kind = "stop_reason" }]
convert = [{ kind = "json" }]
"""


def _ask(url: str, text: str = CONVERT, **extra: Any) -> anthropic.types.Message:
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as sdk:
        message: anthropic.types.Message = sdk.messages.create(
            model="auto", max_tokens=200, messages=[{"role": "user", "content": text}], **extra
        )
        return message


def test_broken_json_from_haiku_escalates_once_to_sonnet(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply('{"service": {"name": "billing"', model=HAIKU)
    fake.script.reply('{"service": {"name": "billing"}}', model=SONNET)
    with running_proxy(fake, policy_with(tmp_path, ESCALATE)) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == SONNET
    assert message.content[0].text == '{"service": {"name": "billing"}}'  # type: ignore[union-attr]
    assert answers(fake) == [HAIKU, SONNET]
    assert [a.kind for a in outcome.attempts] == ["first", "escalation"]
    assert outcome.escalated
    first, second = outcome.attempts
    assert [v["validator"] for v in first.verdicts if not v["passed"]] == ["json"]
    assert all(v["passed"] for v in second.verdicts)
    assert first.cost is not None
    assert second.cost is not None
    assert outcome.cost is not None
    assert outcome.total_cost == first.cost.total + second.cost.total
    record = DecisionRecord.from_outcome(outcome)
    assert record.cost_usd == outcome.total_cost
    assert record.served_model == SONNET
    assert record.baseline_model == OPUS
    assert record.savings_usd == record.baseline_cost_usd - record.cost_usd  # type: ignore[operator]
    assert [a["kind"] for a in record.attempts] == ["first", "escalation"]
    assert record.attempts[0]["cost_micro_usd"] == first.cost.total_micro_usd
    failed = [v for v in record.validator_verdicts if not v["passed"]]
    assert [(v["attempt"], v["model"], v["validator"]) for v in failed] == [(0, HAIKU, "json")]


def test_an_answer_that_passes_is_served_without_escalating(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply('```json\n{"ok": true}\n```', model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, ESCALATE)) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU
    assert answers(fake) == [HAIKU]
    assert [a.kind for a in outcome.attempts] == ["first"]
    assert outcome.total_cost == outcome.cost.total  # type: ignore[union-attr]


def test_a_cut_off_answer_climbs_to_the_top_and_the_last_answer_is_served(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    for model in (HAIKU, SONNET, OPUS):
        fake.script.reply("not json", stop_reason="max_tokens", model=model)
    with running_proxy(fake, policy_with(tmp_path, ESCALATE)) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert answers(fake) == [HAIKU, SONNET, OPUS]
    assert message.model == OPUS
    assert [a.kind for a in outcome.attempts] == ["first", "escalation", "escalation"]
    assert outcome.status == 200


def test_escalation_stops_at_a_user_tier_ceiling(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    fake.script.reply("{broken", model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, ESCALATE)) as proxy:
        message = _ask(proxy.url, extra_headers={"x-tierwise-user-tier": "free"})
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU  # free users never go above haiku, valid JSON or not
    assert answers(fake) == [HAIKU]
    assert not outcome.escalated


def test_when_the_higher_rung_is_down_the_last_answer_is_served(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("{broken", model=HAIKU)
    fake.script.fail(400, model=SONNET)  # not a capacity error: no fallback within the rung
    with running_proxy(fake, policy_with(tmp_path, ESCALATE)) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU
    assert message.content[0].text == "{broken"  # type: ignore[union-attr]
    assert [(a.model, a.kind, a.status) for a in outcome.attempts] == [
        (HAIKU, "first", 200),
        (SONNET, "escalation", 400),
    ]
    assert outcome.served_model == HAIKU


def test_streaming_requests_are_not_escalated_by_default(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("{broken", model=HAIKU)
    with running_proxy(fake, policy_with(tmp_path, ESCALATE)) as proxy:
        with (
            anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0) as sdk,
            sdk.messages.stream(
                model="auto", max_tokens=200, messages=[{"role": "user", "content": CONVERT}]
            ) as stream,
        ):
            text = stream.get_final_text()
        (outcome,) = proxy.wait_outcomes(1)
    assert text == "{broken"
    assert answers(fake) == [HAIKU]
    assert [a.kind for a in outcome.attempts] == ["first"]


@pytest.mark.parametrize("verdict", ['{"verdict": "fail", "confidence": 0.9}', "no idea"])
def test_the_judge_fails_an_answer_or_passes_it_when_unreadable(
    fake: FakeAnthropicServer, tmp_path: Path, verdict: str
) -> None:
    policy = policy_with(
        tmp_path,
        """
[escalation]
enabled = true
[escalation.validators]
"*" = [{ kind = "non_empty" }, { kind = "judge", tier = "haiku", threshold = 0.8 }]
""",
    )
    fake.script.reply("a plausible answer", model=HAIKU)  # the answer
    fake.script.reply(verdict, model=HAIKU)  # the judge's verdict on it
    with running_proxy(fake, policy) as proxy:
        message = _ask(proxy.url, "Fix the typo in the README")
        (outcome,) = proxy.wait_outcomes(1)
    judged = verdict.startswith("{")
    assert message.model == (SONNET if judged else HAIKU)
    # judged and failed: Sonnet's answer is judged too (unreadable this time, so it passes)
    assert [c.purpose for c in outcome.routing_calls] == ["judge"] * (2 if judged else 1)
    costs = [c.cost.total for c in outcome.routing_calls if c.cost is not None]
    assert len(costs) == len(outcome.routing_calls)
    assert all(cost > 0 for cost in costs)
    judge_cost = sum(costs)
    assert outcome.routing_cost == judge_cost
    verdicts = outcome.attempts[0].verdicts
    assert [v["validator"] for v in verdicts] == ["non_empty", "judge"]
    assert verdicts[1]["passed"] is not judged
    record = DecisionRecord.from_outcome(outcome)
    assert record.routing_cost_usd == judge_cost
    spent = sum(a.cost.total for a in outcome.attempts if a.cost is not None)
    assert record.cost_usd == spent + judge_cost


def test_a_router_without_escalation_leaves_requests_alone(fake: FakeAnthropicServer) -> None:
    fake.script.reply("{broken", model=HAIKU)
    with running_proxy(fake, None) as proxy:
        message = _ask(proxy.url)
        (outcome,) = proxy.wait_outcomes(1)
    assert message.model == HAIKU
    assert [a.kind for a in outcome.attempts] == ["first"]
    assert outcome.attempts[0].usage is not None  # the served attempt's usage, for records
