"""Budgets through the proxy, over real sockets, with the official SDK as the caller.

Spend recorded in the store (as another proxy process would) lowers the ceiling: a request for
Opus is served by Sonnet, and the record's trace and ``x-tierwise-reason`` say why. At the cap
the SDK gets ``anthropic.RateLimitError`` from Anthropic's error JSON, with ``retry-after``
the seconds until the month resets, no request reaches the upstream, and the refused request
is still recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anthropic
import pytest

from tierwise.budgets import BudgetGuard
from tierwise.budgets.steps import month_of, next_month_start
from tierwise.core.budget_config import to_micro
from tierwise.core.policy import load_policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.recorder import Recorder
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer

POLICY = """extends = "default"
[budgets]
steps = [{at = 0.8, ceiling = "sonnet"}, {at = 0.95, ceiling = "haiku"}]
[budgets.users]
limits = {acme = 1.0}
"""
OPUS = "claude-opus-5-5"
ASK: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Design the architecture of a distributed cache"}
]


@dataclass
class Served:
    url: str
    fake: FakeAnthropicServer
    store: Store
    guard: BudgetGuard

    def sdk(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key="sk-ant-caller")  # SDK retries on

    def record(self, request_id: str) -> DecisionRecord:
        deadline = time.monotonic() + 10
        while (found := self.store.get(request_id)) is None:
            assert time.monotonic() < deadline, f"no record of {request_id}"
            time.sleep(0.02)
        return found

    def spend_elsewhere(self, request_id: str, usd: float) -> None:
        """Spend recorded by another process sharing the store, then read by this one."""
        record = DecisionRecord(
            request_id=request_id,
            time=datetime.now(UTC),
            endpoint="messages",
            status=200,
            user_id="acme",
            cost_micro_usd=to_micro(usd),
        )
        self.store.insert_many([record])
        assert self.guard.refresh()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(POLICY)
    policy = load_policy(policy_path)
    store = Store(str(tmp_path / "records.db"))
    store.migrate()
    recorder = Recorder(store, flush_interval=0.02)
    guard = BudgetGuard(policy.config.budgets, store)
    with FakeAnthropicServer() as fake:
        settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url))
        app = create_app(
            MessagesRouter(Router(policy)), settings, on_outcome=recorder.record, budgets=guard
        )
        server = ProxyServer(app).start()
        try:
            yield Served(server.url, fake, store, guard)
        finally:
            server.stop()
            recorder.close()
            store.close()


def _acme() -> anthropic.types.MetadataParam:
    return {"user_id": "acme"}


def test_spend_lowers_the_ceiling_then_the_cap_refuses_with_a_429(served: Served) -> None:
    with served.sdk() as sdk:
        raw = sdk.messages.with_raw_response.create(
            model=OPUS, max_tokens=32, messages=ASK, metadata=_acme()
        )
        assert raw.parse().model == OPUS  # under every step: the model asked for
        assert raw.headers["x-tierwise-reason"] == "pass-through"

        served.spend_elsewhere("req-elsewhere-1", 0.85)  # 85 % + the request above
        raw = sdk.messages.with_raw_response.create(
            model=OPUS, max_tokens=32, messages=ASK, metadata=_acme()
        )
        assert raw.parse().model == "claude-sonnet-5-5"
        reason = raw.headers["x-tierwise-reason"]
        assert reason.startswith("budget ceiling sonnet: user 'acme' has spent 8")
        assert "of its $1.00 monthly budget" in reason
        record = served.record(raw.headers["x-tierwise-request-id"])
        assert record.chosen_tier == "sonnet"
        assert record.user_id == "acme"
        budget = [v for v in record.trace if v["strategy"] == "budget"]
        assert budget == [
            {
                "strategy": "budget",
                "action": "ceiling",
                "tier": "sonnet",
                "reason": budget[0]["reason"],
            }
        ]
        assert "user 'acme' has spent 8" in budget[0]["reason"]
        assert record.reason is not None
        assert "capped at sonnet by budget" in record.reason

        other = sdk.messages.create(
            model=OPUS, max_tokens=32, messages=ASK, metadata={"user_id": "someone-else"}
        )
        assert other.model == OPUS  # a user without a budget is not limited

        served.spend_elsewhere("req-elsewhere-2", 0.2)  # past 100 %
        upstream_before = len(served.fake.log)
        with pytest.raises(anthropic.RateLimitError) as refused:
            sdk.messages.create(model="auto", max_tokens=32, messages=ASK, metadata=_acme())
        assert len(served.fake.log) == upstream_before  # nothing was sent, nor retried

    error = refused.value
    assert error.status_code == 429
    assert error.type == "rate_limit_error"
    assert error.body is not None
    message = error.body["error"]["message"]  # type: ignore[index]
    assert "budget" in message
    assert "user 'acme'" in message
    assert "$1.00" in message
    assert error.response.headers["x-should-retry"] == "false"
    now = datetime.now(UTC)
    until_reset = (next_month_start(month_of(now)) - now).total_seconds()
    assert abs(int(error.response.headers["retry-after"]) - until_reset) < 60
    assert error.request_id is not None
    assert error.request_id.startswith("req_tierwise_")

    record = served.record(error.response.headers["x-tierwise-request-id"])
    assert record.status == 429
    assert record.error_type == "rate_limit_error"
    assert record.user_id == "acme"
    assert not record.routed
    assert record.reason is not None
    assert record.reason.startswith("budget: tierwise budget")


def test_a_streamed_request_at_the_cap_is_refused_before_any_event(served: Served) -> None:
    served.spend_elsewhere("req-elsewhere", 1.5)
    with served.sdk() as sdk, pytest.raises(anthropic.RateLimitError):
        sdk.messages.create(
            model="auto", max_tokens=32, messages=ASK, metadata=_acme(), stream=True
        )
    assert len(served.fake.log) == 0
