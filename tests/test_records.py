"""Decision records from real outcomes: through the proxy with the SDK, and built by hand."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tierwise.core.policy import default_policy, load_policy
from tierwise.core.pricing import cost
from tierwise.core.usage import Usage
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Attempt, Outcome
from tierwise.ledger.records import (
    TRUNCATED,
    DecisionRecord,
    cap_text,
    dumps_json,
    policy_fingerprint,
)
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer

SECRET_KEY = "sk-ant-api03-never-stored-0123456789"
HINTS = {
    "x-tierwise-task-type": "format",
    "x-tierwise-domain": "docs",
    "x-tierwise-user-tier": "paid",
}


class ProxyRun:
    def __init__(self, url: str, outcomes: list[Outcome]) -> None:
        self.url = url
        self.outcomes = outcomes

    def sdk(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key=SECRET_KEY, max_retries=0)


@pytest.fixture(scope="module")
def proxy() -> Iterator[ProxyRun]:
    outcomes: list[Outcome] = []
    with FakeAnthropicServer() as fake:
        settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url))
        router = MessagesRouter(Router(default_policy()))
        app = create_app(router, settings, on_outcome=outcomes.append)
        with ProxyServer(app) as server:
            yield ProxyRun(server.url, outcomes)


def _send(proxy: ProxyRun, **kwargs: Any) -> Outcome:
    before = len(proxy.outcomes)
    with proxy.sdk() as client:
        kwargs.setdefault("max_tokens", 50)
        kwargs.setdefault("messages", [{"role": "user", "content": "Reformat this JSON please"}])
        if kwargs.pop("stream", False):
            with client.messages.stream(**kwargs) as events:
                events.until_done()
        else:
            client.messages.create(**kwargs)
    return _new_outcome(proxy, before)


def _new_outcome(proxy: ProxyRun, before: int) -> Outcome:
    """The outcome reported after the first ``before`` (the hook runs after the response)."""
    deadline = time.monotonic() + 5
    while len(proxy.outcomes) <= before:
        assert time.monotonic() < deadline, "no outcome reported"
        time.sleep(0.002)
    return proxy.outcomes[before]


def test_a_routed_request_through_the_proxy(proxy: ProxyRun) -> None:
    outcome = _send(
        proxy,
        model="auto",
        extra_headers=HINTS,
        metadata={"user_id": "user-7f3a"},
        system="You are terse.",
    )
    finished = datetime.now(UTC)
    record = DecisionRecord.from_outcome(
        outcome, finished_at=finished, policy_fingerprint=policy_fingerprint(default_policy())
    )
    assert record.request_id == outcome.request_id
    assert record.time == finished - timedelta(seconds=outcome.total_latency)
    assert record.endpoint == "messages"
    assert (record.status, record.stream, record.error_type) == (200, False, None)
    assert record.routed
    assert record.requested_model == "auto"
    assert record.chosen_model == record.served_model == "claude-haiku-5-5"
    assert record.chosen_tier == "haiku"
    assert (record.task_type, record.domain, record.user_tier) == ("format", "docs", "paid")
    assert record.hint_task_type == "format"
    assert record.user_id == "user-7f3a"
    assert record.conversation_key
    assert record.reason
    assert record.trace
    assert record.trace[0]["strategy"] == "task_type"
    assert record.policy_fingerprint == policy_fingerprint(default_policy())
    assert record.context_tokens is not None
    assert record.context_tokens > 0
    assert record.turns == 1
    usage = outcome.usage
    assert usage is not None
    assert record.input_tokens == usage.input_tokens > 0
    assert record.output_tokens == usage.output_tokens > 0
    assert record.cache_read_tokens == usage.cache_read_tokens
    exact = cost(usage, "claude-haiku-5-5").total
    baseline = cost(usage, "claude-opus-5-5").total
    assert record.cost_usd == exact
    assert record.baseline_model == "claude-opus-5-5"
    assert record.baseline_cost_usd == baseline
    assert record.savings_usd == baseline - exact > 0
    assert record.cost_micro_usd is not None
    assert record.baseline_cost_micro_usd is not None
    assert record.savings_micro_usd == record.baseline_cost_micro_usd - record.cost_micro_usd
    assert record.decision_latency == outcome.decision_latency
    assert record.upstream_latency == outcome.upstream_latency
    assert record.ttfb == outcome.ttfb
    assert record.total_latency == outcome.total_latency
    assert [a["model"] for a in record.attempts] == ["claude-haiku-5-5"]
    assert record.attempts[0]["status"] == 200
    assert not record.fell_back
    assert record.validator_verdicts == ()
    assert record.quality_score is None
    assert record.prompt is None  # not opted in
    line = record.to_json()
    assert SECRET_KEY not in line
    assert "Reformat this JSON" not in line
    assert DecisionRecord.from_json(line) == record


def test_a_streamed_request_has_its_usage_and_cost(proxy: ProxyRun) -> None:
    outcome = _send(proxy, model="auto", stream=True, extra_headers=HINTS)
    record = DecisionRecord.from_outcome(outcome)
    assert record.stream
    assert record.output_tokens is not None
    assert record.output_tokens > 0
    assert record.cost_usd is not None
    assert record.cost_usd > 0
    assert record.ttfb is not None


def test_prompt_text_is_kept_only_when_asked_and_capped(proxy: ProxyRun) -> None:
    long = "Reformat this JSON please. " + "x" * 500
    outcome = _send(proxy, model="auto", messages=[{"role": "user", "content": long}])
    assert DecisionRecord.from_outcome(outcome).prompt is None
    full = DecisionRecord.from_outcome(outcome, store_prompt=True)
    assert full.prompt == long
    capped = DecisionRecord.from_outcome(outcome, store_prompt=True, prompt_cap=100)
    assert capped.prompt is not None
    assert len(capped.prompt) == 100
    assert capped.prompt.endswith(TRUNCATED)
    assert capped.prompt.startswith("Reformat this JSON please. xxx")


def test_a_pass_through_request_saves_nothing(proxy: ProxyRun) -> None:
    outcome = _send(proxy, model="claude-sonnet-5-5")
    record = DecisionRecord.from_outcome(outcome)
    assert not record.routed
    assert record.chosen_model == record.served_model == "claude-sonnet-5-5"
    assert record.chosen_tier == "sonnet"
    assert record.reason == "pass-through"
    assert record.trace == ()
    assert record.baseline_model == "claude-sonnet-5-5"
    assert record.savings_usd == 0
    assert record.savings_micro_usd == 0


def test_a_refused_request_is_recorded_without_a_decision(proxy: ProxyRun) -> None:
    before = len(proxy.outcomes)
    with pytest.raises(anthropic.BadRequestError):
        _send(proxy, model="gpt-4")
    record = DecisionRecord.from_outcome(_new_outcome(proxy, before))
    assert record.status == 400
    assert record.error_type == "invalid_request_error"
    assert record.requested_model == "gpt-4"
    assert not record.routed
    assert record.chosen_model is None
    assert record.served_model is None
    assert record.input_tokens is None
    assert record.cost_usd is None
    assert record.savings_usd is None
    assert record.attempts == ()
    assert record.reason is None
    assert record.conversation_key is None


# -- outcomes built by hand -----------------------------------------------------------------


def _outcome(**fields: Any) -> Outcome:
    router = MessagesRouter(Router(default_policy()))
    body = {
        "model": "auto",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Design the architecture of a payment system"}],
    }
    routed = router.route(body, Hints(task_type="architect"))
    usage = Usage(input_tokens=1000, cache_read_tokens=2000, output_tokens=300)
    values: dict[str, Any] = {
        "request_id": "req_tierwise_abc",
        "endpoint": "messages",
        "status": 200,
        "stream": False,
        "requested_model": "auto",
        "served_model": "claude-sonnet-5-5",
        "routed": routed,
        "attempts": (
            Attempt("claude-opus-5-5", 529, "overloaded_error", 0.25, retries=1),
            Attempt("claude-sonnet-5-5", 200, None, 0.5),
        ),
        "usage": usage,
        "cost": cost(usage, "claude-sonnet-5-5"),
        "baseline_cost": cost(usage, "claude-opus-5-5"),
        "decision_latency": 0.0001,
        "upstream_latency": 0.75,
        "ttfb": 0.8,
        "total_latency": 1.0,
        "caller": "team-payments",
    }
    values.update(fields)
    return Outcome(**values)


def test_a_fallback_keeps_every_attempt_and_the_caller_name() -> None:
    record = DecisionRecord.from_outcome(_outcome())
    assert record.fell_back
    assert record.chosen_model == "claude-opus-5-5"
    assert record.served_model == "claude-sonnet-5-5"
    assert record.attempts == (
        {"model": "claude-opus-5-5", "status": 529, "error_type": "overloaded_error",
         "latency": 0.25, "retries": 1, "kind": "first"},
        {"model": "claude-sonnet-5-5", "status": 200, "error_type": None, "latency": 0.5,
         "retries": 0, "kind": "fallback"},
    )  # fmt: skip
    assert record.caller == "team-payments"
    assert record.task_type == "architect"
    assert record.cache_read_tokens == 2000


def test_the_time_defaults_to_now_minus_the_total_latency() -> None:
    before = datetime.now(UTC)
    record = DecisionRecord.from_outcome(_outcome(total_latency=10.0))
    assert before - timedelta(seconds=10.5) < record.time < datetime.now(UTC)
    assert record.time.tzinfo == UTC


def test_money_is_exact_and_micro_dollars_add_up() -> None:
    usage = Usage(input_tokens=7, output_tokens=3)
    outcome = _outcome(
        usage=usage,
        cost=cost(usage, "claude-haiku-5-5"),
        baseline_cost=cost(usage, "claude-opus-5-5"),
    )
    record = DecisionRecord.from_outcome(outcome)
    assert record.cost_usd == cost(usage, "claude-haiku-5-5").total
    assert record.cost_usd is not None
    assert record.cost_usd != record.cost_usd.quantize(Decimal("0.000001"))  # below a micro-dollar
    assert record.cost_micro_usd == cost(usage, "claude-haiku-5-5").total_micro_usd
    line = json.loads(record.to_json())
    assert Decimal(line["cost_usd"]) == record.cost_usd  # a string in JSON: no float rounding


def test_long_caller_chosen_strings_are_cut() -> None:
    outcome = _outcome(caller="k" * 1000, requested_model="auto" + "x" * 1000)
    record = DecisionRecord.from_outcome(outcome)
    assert record.caller is not None
    assert len(record.caller) == 256
    assert record.requested_model is not None
    assert len(record.requested_model) == 256


def test_rows_replace_nul_characters() -> None:
    record = DecisionRecord.from_outcome(_outcome(caller="a\x00b"))
    record = replace(record, trace=({"reason": "x\x00", "nested": ["\x00"]},))
    row = record.as_row()
    assert row["caller"] == "a\ufffdb"
    assert json.loads(dumps_json(row["trace"])) == [{"reason": "x\ufffd", "nested": ["\ufffd"]}]
    assert json.loads(dumps_json(["\\u0000"])) == ["\\u0000"]  # an escaped backslash stays
    assert json.loads(record.to_json())["caller"] == "a\x00b"  # the spool keeps it as it was


def test_cap_text() -> None:
    assert cap_text("short", 10) == "short"
    assert cap_text("x" * 100, 5) == "xxxxx"
    capped = cap_text("y" * 100, 50)
    assert len(capped) == 50
    assert capped.endswith(TRUNCATED)


def test_the_policy_fingerprint_is_stable_and_follows_the_configuration(tmp_path: Path) -> None:
    default = policy_fingerprint(default_policy())
    assert default == policy_fingerprint(load_policy())
    assert len(default) == 16
    assert int(default, 16) >= 0
    same = tmp_path / "same.toml"
    same.write_text('extends = "default"\n')
    assert policy_fingerprint(load_policy(same)) == default
    changed = tmp_path / "changed.toml"
    changed.write_text('extends = "default"\n[tiers]\ndefault = "haiku"\n')
    assert policy_fingerprint(load_policy(changed)) != default
