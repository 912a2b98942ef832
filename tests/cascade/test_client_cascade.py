"""The classifier and the cascade in ``tierwise.Anthropic`` / ``AsyncAnthropic``, over a socket."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import tierwise
from tierwise.client import decision_of, report_of
from tierwise.core.errors import ConfigError
from tierwise.testing import FakeAnthropicServer

from .conftest import CONVERT, HAIKU, OPUS, SONNET, VAGUE, answers, policy_with

POLICY = """
[classifier]
enabled = true
[escalation]
enabled = true
[escalation.validators]
convert = [{ kind = "json" }, { kind = "callable", name = "has_service" }]
"""


def has_service(answer: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    return "service" in json.loads(answer["content"][0]["text"])


def test_the_client_escalates_on_a_python_check_and_reports_every_attempt(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply('{"other": 1}', model=HAIKU)  # valid JSON, but the callable fails it
    fake.script.reply('{"service": 1}', model=SONNET)
    with tierwise.Anthropic(
        policy=policy_with(tmp_path, POLICY),
        validators={"has_service": has_service},
        base_url=fake.url,
        api_key="k",
        max_retries=0,
    ) as client:
        message = client.messages.create(
            model="auto", max_tokens=100, messages=[{"role": "user", "content": CONVERT}]
        )
    assert message.model == SONNET
    assert answers(fake) == [HAIKU, SONNET]
    report = report_of(message)
    assert report is not None
    assert report.escalated
    assert [a.kind for a in report.attempts] == ["first", "escalation"]
    failed = [v["validator"] for v in report.attempts[0].verdicts if not v["passed"]]
    assert failed == ["callable:has_service"]
    assert all(a.cost is not None and a.cost.total > 0 for a in report.attempts)
    decision = decision_of(message)
    assert decision is not None
    assert decision.model == SONNET
    assert "callable:has_service failed" in decision.reason


def test_a_missing_python_check_is_a_clear_error(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    with (
        tierwise.Anthropic(
            policy=policy_with(tmp_path, POLICY), base_url=fake.url, api_key="k", max_retries=0
        ) as client,
        pytest.raises(ConfigError, match="'has_service' is not registered"),
    ):
        client.messages.create(
            model="auto", max_tokens=100, messages=[{"role": "user", "content": CONVERT}]
        )


@pytest.mark.anyio
async def test_the_async_client_asks_the_classifier_when_unsure(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.reply("COMPLEX", model=HAIKU)
    async with tierwise.AsyncAnthropic(
        policy=policy_with(tmp_path, POLICY), base_url=fake.url, api_key="k", max_retries=0
    ) as client:
        message = await client.messages.create(
            model="auto", max_tokens=100, messages=[{"role": "user", "content": VAGUE}]
        )
    assert message.model == OPUS
    report = report_of(message)
    assert report is not None
    (call,) = report.routing_calls
    assert call.purpose == "classifier"
    assert call.cost is not None
    assert call.cost.total > 0


def test_a_sync_classifier_failure_passes(fake: FakeAnthropicServer, tmp_path: Path) -> None:
    fake.script.fail(529, model=HAIKU)  # the classifier's call; no retry for it
    with tierwise.Anthropic(
        policy=policy_with(tmp_path, POLICY), base_url=fake.url, api_key="k", max_retries=2
    ) as client:
        message = client.messages.create(
            model="auto", max_tokens=100, messages=[{"role": "user", "content": VAGUE}]
        )
    assert message.model == HAIKU
    decision = decision_of(message)
    assert decision is not None
    assert decision.trace[-1].strategy == "classifier"
    assert "passed" in decision.trace[-1].reason
    assert [r.model for r in fake.log.snapshot()] == [HAIKU, HAIKU]
