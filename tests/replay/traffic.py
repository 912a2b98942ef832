"""Real traffic for replay tests: the demo workload sent with the official SDK through a proxy on
a real socket, in front of the fake Anthropic API; the outcomes become decision records."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic

from tierwise.core.policy import Policy, load_policy
from tierwise.demo import load_workload
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.ledger.records import DecisionRecord, policy_fingerprint
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer

# A changed routing table: mechanical work up a tier, features to Opus, short asks to Sonnet,
# one keyword rule weighed more, and a definition marker nobody looked for before.
CHANGED_POLICY = """
extends = "default"
[routes.format]
tier = "sonnet"
[routes.implement]
tier = "opus"
[brevity]
tier = "sonnet"
[keywords]
min_score = 2.5
"""


def changed_policy(tmp_path: Path, text: str = CHANGED_POLICY) -> Policy:
    path = tmp_path / "changed.toml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def _hints(index: int) -> dict[str, str]:
    """Some requests carry hints, as callers send them."""
    if index % 9 == 4:
        return {"x-tierwise-task-type": "test"}
    if index % 11 == 6:
        return {"x-tierwise-user-tier": "free"}
    return {}


def send_workload(fake: FakeAnthropicServer, policy: Policy) -> list[Outcome]:
    """Every demo task through a proxy running ``policy``, one at a time (every fourth
    streamed); the outcomes in the order sent."""
    outcomes: list[Outcome] = []
    settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url))
    app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=outcomes.append)
    server = ProxyServer(app).start()
    tasks = load_workload()
    try:
        # closed when done: an unclosed pool socket warns in a later test (warnings are errors)
        with anthropic.Anthropic(base_url=server.url, api_key="sk-ant-test", max_retries=0) as c:
            for index, task in enumerate(tasks):
                kwargs: dict[str, Any] = {
                    "model": "auto",
                    "max_tokens": 512,
                    "messages": [{"role": "user", "content": task.prompt}],
                    "extra_headers": _hints(index),
                }
                if task.system:
                    kwargs["system"] = task.system
                if index % 4 == 3:
                    with c.messages.stream(**kwargs) as events:
                        events.until_done()
                else:
                    c.messages.create(**kwargs)
                deadline = time.monotonic() + 5
                while len(outcomes) <= index and time.monotonic() < deadline:
                    time.sleep(0.002)  # the hook runs after the response ends
    finally:
        server.stop()
    assert len(outcomes) == len(tasks)
    return outcomes


def record_workload(
    fake: FakeAnthropicServer, policy: Policy, store: Store, *, store_prompts: bool
) -> list[DecisionRecord]:
    """``send_workload``, recorded into ``store`` as the recorder would; the records."""
    fingerprint = policy_fingerprint(policy)
    start = datetime.now(UTC) - timedelta(hours=1)
    records = [
        DecisionRecord.from_outcome(
            outcome,
            finished_at=start + timedelta(seconds=index),  # in the order sent, as it was
            policy_fingerprint=fingerprint,
            store_prompt=store_prompts,
        )
        for index, outcome in enumerate(send_workload(fake, policy))
    ]
    store.migrate()
    store.insert_many(records)
    return records
