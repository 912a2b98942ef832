"""Two ``tierwise serve`` processes sharing one PostgreSQL hold one caller's budget together.

Requests alternate between the two proxies until both refuse. The caller's recorded spend must
reach its budget, and overshoot it by no more than docs/budgets.md allows: what was spent in
the last refresh interval plus the recorder's write delay (each proxy counts its own spend at
once; it sees the other's only when that is recorded and read back).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anthropic

from tierwise.core.budget_config import to_micro
from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, Reply, serve_process

LIMIT_USD = 0.02
REFRESH = 0.2  # budgets.refresh_seconds in the policy below
RECORDER_FLUSH = 0.2  # the recorder's default flush interval
SLACK = 0.5  # seconds for a loaded machine to write and read a record
LATENCY = 0.1  # the fake's answer time: the run must outlast the window below
POLICY = f"""extends = "default"
[budgets]
refresh_seconds = {REFRESH}
[budgets.callers]
limits = {{ci = {LIMIT_USD}}}
"""
ASK: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Design the architecture of a distributed cache"}
]


@contextmanager
def _proxy(upstream: str, db: str, policy: Path, keys: Path) -> Iterator[str]:
    options = ["--upstream", upstream, "--db", db, "--policy", str(policy)]
    options += ["--api-key-env", "BUDGET_TEST_KEY", "--client-keys-file", str(keys)]
    with serve_process(*options, env={"BUDGET_TEST_KEY": "sk-ant-server"}) as served:
        yield served.url
    assert served.process.returncode == 0, served.stderr


def test_two_proxies_on_one_postgresql_hold_one_budget(pg_url: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    keys = tmp_path / "keys"
    keys.write_text("ci: tw-ci-key\n")
    refused: set[str] = set()
    messages: list[str] = []
    served = 0
    with FakeAnthropicServer() as fake, ExitStack() as stack:
        fake.script.set_default(Reply(latency=LATENCY))
        urls = [stack.enter_context(_proxy(fake.url, pg_url, policy, keys)) for _ in range(2)]
        clients = [
            stack.enter_context(anthropic.Anthropic(base_url=u, api_key="tw-ci-key")) for u in urls
        ]
        for turn in range(2000):
            index = turn % 2
            if len(refused) == 2:
                break
            try:
                clients[index].messages.create(model="claude-opus-5-5", max_tokens=32, messages=ASK)
                served += 1
            except anthropic.RateLimitError as exc:
                messages.append(exc.message)
                refused.add(urls[index])
        assert len(refused) == 2, "both proxies refuse once the budget is spent"
        assert all("caller 'ci'" in message for message in messages)

    with Store(pg_url) as store:
        records = [r for r in store.records() if r.caller == "ci"]
    ok = sorted((r for r in records if r.status == 200), key=lambda r: r.time)
    assert len(ok) == served
    assert {r.status for r in records} == {200, 429}
    assert {r.chosen_tier for r in ok} >= {"opus", "sonnet", "haiku"}  # the steps, in turn
    total = sum(r.cost_micro_usd or 0 for r in ok)
    limit = to_micro(LIMIT_USD)
    assert total >= limit - max(r.cost_micro_usd or 0 for r in ok)  # not stopped early
    # the documented bound: at most what was served in the window each proxy may be blind to
    window = REFRESH + RECORDER_FLUSH + SLACK
    last = ok[-1].time.timestamp()
    blind = sum(r.cost_micro_usd or 0 for r in ok if r.time.timestamp() >= last - window)
    print(
        f"two proxies: {served} served, ${total / 1e6:.6f} of ${LIMIT_USD}; "
        f"overshoot ${max(total - limit, 0) / 1e6:.6f}, bound ${blind / 1e6:.6f}"
    )
    assert total - limit <= blind
