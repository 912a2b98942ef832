"""Budgets in the library client: the same ceilings as the proxy, and at the cap the SDK's own
``anthropic.RateLimitError``, raised before anything is sent. Without recording, the client
counts its own spend."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

import tierwise
from tierwise.budgets.sdk import BudgetRateLimitError
from tierwise.client import decision_of
from tierwise.testing import FakeAnthropicServer

POLICY = """extends = "default"
[budgets]
steps = [{at = 0.5, ceiling = "haiku"}]
[budgets.users]
default_usd = 0.002
"""
ASK: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Design the architecture of a distributed cache"}
]


def test_the_client_lowers_the_ceiling_then_raises_rate_limit_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    with (
        FakeAnthropicServer() as fake,
        tierwise.Anthropic(base_url=fake.url, api_key="k", policy=policy) as client,
    ):
        messages: list[anthropic.types.Message] = []
        with pytest.raises(anthropic.RateLimitError) as refused:
            _spend(client, messages)
        sent = len(fake.log)
        other = client.messages.create(
            model="auto", max_tokens=32, messages=ASK, metadata={"user_id": "someone-else"}
        )
    decisions = [decision_of(message) for message in messages]
    tiers = [decision.tier.value for decision in decisions if decision is not None]
    assert tiers[0] == "opus"
    assert "haiku" in tiers
    assert tiers == sorted(tiers, key=["haiku", "opus"].index, reverse=True)  # never back up
    last = decisions[-1]
    assert last is not None
    assert any(v.strategy == "budget" and v.tier is not None for v in last.trace)
    assert sent == len(tiers)  # the refused call never reached the API
    error = refused.value
    assert isinstance(error, BudgetRateLimitError)
    assert error.status_code == 429
    assert error.type == "rate_limit_error"
    assert "user 'acme'" in error.budget.message
    assert int(error.response.headers["retry-after"]) == error.budget.retry_after
    assert other.model == "claude-opus-5-5"  # every user has a budget of their own


def _spend(client: tierwise.Anthropic, into: list[anthropic.types.Message]) -> None:
    """Ask for user ``acme`` until the client refuses (a hundred calls at most)."""
    for _ in range(100):
        into.append(
            client.messages.create(
                model="auto", max_tokens=32, messages=ASK, metadata={"user_id": "acme"}
            )
        )
