"""Two ``tierwise serve`` processes hammered concurrently hold one caller budget within 10 %.

Eight client threads per proxy send requests at once (a burst: each sends again as soon as it
is answered) or at a steady rate, until every thread has been refused. Each proxy reserves a
request's estimated cost in the shared store before sending it, so neither can spend what the
other has already committed; the recorded spend may exceed the cap only by how much the real
costs of the requests in flight exceeded their estimates (docs/budgets.md). The measured
overshoot is in the assertion message and printed (``pytest -s``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anthropic
import pytest

from tierwise.core.budget_config import to_micro
from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, Reply, serve_process

LIMIT_USD = 0.05
THREADS = 8  # per proxy
LATENCY = 0.05  # the fake's answer time
STEADY_GAP = 0.1  # seconds between one thread's requests at the steady rate
MAX_OVERSHOOT = 0.10  # of the cap
POLICY = f"""extends = "default"
[budgets]
refresh_seconds = 5
[budgets.callers]
limits = {{ci = {LIMIT_USD}}}
"""
ASK: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Design the architecture of a distributed cache"}
]


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One shared database: a fresh PostgreSQL one, or a SQLite file both proxies open."""
    if request.param == "sqlite":
        return str(tmp_path / "db" / "tierwise.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@contextmanager
def _proxy(upstream: str, db: str, policy: Path, keys: Path) -> Iterator[str]:
    options = ["--upstream", upstream, "--db", db, "--policy", str(policy)]
    options += ["--api-key-env", "BUDGET_TEST_KEY", "--client-keys-file", str(keys)]
    with serve_process(*options, env={"BUDGET_TEST_KEY": "sk-ant-server"}) as served:
        yield served.url
    assert served.process.returncode == 0, served.stderr
    assert "cannot read spend" not in served.stderr, served.stderr


def _hammer(url: str, gap: float, errors: list[BaseException]) -> None:
    """Send until refused (``gap``: the pause between requests)."""
    try:
        with anthropic.Anthropic(base_url=url, api_key="tw-ci-key", max_retries=0) as client:
            for _ in range(5000):
                try:
                    client.messages.create(model="claude-opus-5-5", max_tokens=64, messages=ASK)
                except anthropic.RateLimitError as exc:
                    if "caller 'ci'" not in exc.message:
                        raise
                    return
                time.sleep(gap)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


@pytest.mark.parametrize(("pace", "gap"), [("burst", 0.0), ("steady", STEADY_GAP)])
def test_two_proxies_hammered_concurrently_hold_one_budget(
    db: str, tmp_path: Path, pace: str, gap: float
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    keys = tmp_path / "keys"
    keys.write_text("ci: tw-ci-key\n")
    errors: list[BaseException] = []
    with FakeAnthropicServer() as fake, ExitStack() as stack:
        fake.script.set_default(Reply(latency=LATENCY))
        urls = [stack.enter_context(_proxy(fake.url, db, policy, keys)) for _ in range(2)]
        threads = [
            threading.Thread(target=_hammer, args=(url, gap, errors))
            for url in urls
            for _ in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors

    with Store(db) as store:
        records = [r for r in store.records() if r.caller == "ci"]
    ok = [r for r in records if r.status == 200]
    assert {r.status for r in records} == {200, 429}
    total = sum(r.cost_micro_usd or 0 for r in ok)
    limit = to_micro(LIMIT_USD)
    overshoot = (total - limit) / limit
    figure = (
        f"{pace} on {Store(db).backend}: {len(ok)} served, ${total / 1e6:.6f} of "
        f"${LIMIT_USD}, overshoot {overshoot:+.2%}"
    )
    print(figure)
    assert total >= limit - max(r.cost_micro_usd or 0 for r in ok) * 2 * THREADS, figure
    assert overshoot <= MAX_OVERSHOOT, figure
