"""A Claude Code session through the proxy: a tool loop never switches model mid-instruction,
and the records say which session, what it decided and what the cache loss was.

The fake upstream answers every request with the usage of a Claude Code turn: 40,000 cached
prompt tokens read, 2,000 uncached, 1,000 out. Prices and the arithmetic: ``tests/test_sessions``.
"""

from __future__ import annotations

from typing import Any

import httpx

from tierwise.learned.pipeline import Router
from tierwise.ledger.records import DecisionRecord
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.metrics import ProxyMetrics
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer, Reply

from .harness import FAST_RETRIES, VERSION, Proxy

SESSION = "0b6f3d52-1c7e-4a8e-9f0a-5d2c7b1e9a44"
USAGE = {"input_tokens": 2_000, "cache_read_input_tokens": 40_000, "output_tokens": 1_000}
REMINDER = "<system-reminder>\nToken usage: 41000/200000\n</system-reminder>"
SYSTEM = [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}]


def send(proxy: Proxy, messages: list[dict[str, Any]], task: str) -> httpx.Response:
    """One streamed Claude Code request (its session header, a task-type hint)."""
    body = {
        "model": "auto",
        "max_tokens": 1024,
        "stream": True,
        "system": SYSTEM,
        "messages": messages,
    }
    headers = {**VERSION, "x-claude-code-session-id": SESSION, "x-tierwise-task-type": task}
    response = httpx.post(f"{proxy.url}/v1/messages", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def tool_round(n: int) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": f"t{n}", "content": "ok"},
                {"type": "text", "text": REMINDER},
            ],
        },
    ]


def claude_code_session(proxy: Proxy) -> None:
    """An architect instruction (Opus) taking 4 requests, then a new test-writing instruction."""
    proxy.fake.script.set_default(Reply(usage=USAGE))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "design it"}]}
    ]
    send(proxy, messages, "architect")
    for n in range(3):  # the policy would send "format" to Haiku: the tool loop stays
        messages += tool_round(n)
        send(proxy, messages, "format")
    messages += [
        {"role": "assistant", "content": "done"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": REMINDER},
                {"type": "text", "text": "now the tests"},
            ],
        },
    ]
    send(proxy, messages, "test")


def test_a_tool_loop_stays_and_a_downgrade_that_does_not_pay_is_refused(proxy: Proxy) -> None:
    """T = 4 turns per instruction: stay 4 x $0.036 = $0.144 on Opus 5.5; Sonnet 5.5 would cost
    $0.114 for the turn that re-writes the prefix + 3 x $0.018 = $0.168: stay. The cache loss
    is 40,000 x (2.50 - 0.20) = 92,000 micro-dollars."""
    claude_code_session(proxy)
    outcomes = proxy.wait_outcomes(5)
    assert proxy.fake.log.models() == ["claude-opus-5-5"] * 5
    records = [DecisionRecord.from_outcome(o) for o in outcomes]
    assert [r.session_id for r in records] == [SESSION] * 5
    assert [r.switch_decision for r in records] == [
        "new-instruction",
        "tool-loop-stay",
        "tool-loop-stay",
        "tool-loop-stay",
        "stay-cache-loss",
    ]
    assert [r.switch_cache_cost_micro_usd for r in records] == [None] * 4 + [92_000]
    assert records[1].cache_read_tokens == 40_000
    assert "session: tool loop, staying on claude-opus-5-5" in (records[1].reason or "")
    state = proxy.router.sessions.get(SESSION)
    assert state is not None
    assert (state.turns, state.instructions, state.prefix_tokens) == (5, 2, 40_000)


def test_session_ids_do_not_become_metric_labels(fake: FakeAnthropicServer) -> None:
    config = UpstreamConfig(base_url=fake.url, retry=FAST_RETRIES)
    router = MessagesRouter(Router())
    outcomes: list[Any] = []
    app = create_app(
        router, ProxySettings(upstream=config), on_outcome=outcomes.append, metrics=ProxyMetrics()
    )
    proxy = Proxy(ProxyServer(app).start(), fake, router, outcomes)
    try:
        claude_code_session(proxy)
        proxy.wait_outcomes(5)
        scraped = httpx.get(f"{proxy.url}/metrics").text
    finally:
        proxy.server.stop()
    assert SESSION not in scraped
    assert 'decided_by="session"' in scraped  # the stays: one bounded label value
