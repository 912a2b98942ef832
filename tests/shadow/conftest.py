"""A proxy in server-key mode with recording and shadow evaluation, in front of the fake API.

Everything runs on real sockets: the official SDK talks to the proxy, the proxy (and its
shadow worker) to the fake Anthropic server, whose replies are scripted per model: the routed
model (haiku), the baseline (opus) and the judge (sonnet, so that its queue is its own).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anthropic
import pytest

from tierwise.core.policy import Policy, load_policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.recorder import Recorder
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.auth import ClientKeys
from tierwise.serving.shadow.ledger import Ledger, ShadowRow
from tierwise.serving.shadow.worker import ShadowWorker
from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import FakeAnthropicServer, RecordedRequest

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
JUDGE = SONNET
SERVER_KEY, CLIENT_KEY = "sk-ant-server", "tw-client-key"
CONVERT = "Convert this YAML to JSON:\nservice:\n  name: billing\n  replicas: 3"
SUMMARIZE = "Summarize this paragraph: the cat sat on the mat and slept all day."
FAST = RetryPolicy(max_retries=0, retries_before_fallback=0, base_delay=0.001, max_delay=0.002)

SHADOW: dict[str, object] = {
    "enabled": True,
    "share": 1.0,
    "judge_model": JUDGE,
    "both_orders_share": 0.0,
    "monthly_usd": 100.0,
}


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeAnthropicServer) -> FakeAnthropicServer:
    shared_fake.reset()
    return shared_fake


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "db" / "tierwise.db")) as opened:
        opened.migrate()
        yield opened


def policy_with(tmp_path: Path, **shadow: object) -> Policy:
    """The default policy with ``[shadow]`` on: ``SHADOW`` with ``shadow`` over it."""
    settings = {**SHADOW, **shadow}
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = tmp_path / "policy.toml"
    path.write_text('extends = "default"\n[shadow]\n' + "\n".join(lines) + "\n", "utf-8")
    return load_policy(path)


def wait_for(what: Callable[[], bool], message: str, timeout: float = 20.0) -> None:
    """Poll until ``what()`` holds: the events tests wait for happen in other threads."""
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {message}")
        time.sleep(0.005)


@dataclass
class ShadowProxy:
    server: ProxyServer
    worker: ShadowWorker
    recorder: Recorder
    store: Store

    @property
    def ledger(self) -> Ledger:
        return self.worker.ledger

    def ask(self, text: str = CONVERT, model: str = "auto") -> tuple[str, anthropic.types.Message]:
        """One request through the proxy: its ``x-tierwise-request-id`` and the message."""
        with anthropic.Anthropic(base_url=self.server.url, api_key=CLIENT_KEY, max_retries=0) as c:
            raw = c.messages.with_raw_response.create(
                model=model, max_tokens=200, messages=[{"role": "user", "content": text}]
            )
            return raw.headers["x-tierwise-request-id"], raw.parse()

    def stream(self, text: str = CONVERT) -> tuple[str, str]:
        """One streamed request: its request id and the text the caller received."""
        client = anthropic.Anthropic(base_url=self.server.url, api_key=CLIENT_KEY, max_retries=0)
        messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": text}]
        with (
            client,
            client.messages.stream(model="auto", max_tokens=200, messages=messages) as stream,
        ):
            received = stream.get_final_text()
            return stream.response.headers["x-tierwise-request-id"], received

    def rows(self) -> list[ShadowRow]:
        return self.ledger.rows()

    def wait_done(self, count: int) -> None:
        """Until ``count`` evaluations are finished: judged and scored, or failed."""
        stats = self.worker.stats

        def done() -> bool:
            finished = stats.scored + stats.unmatched + stats.judge_failures
            failed = stats.shadow_failures + stats.unreadable + stats.errors
            return finished + failed >= count

        wait_for(done, f"{count} shadow evaluations")

    def record(self, request_id: str) -> DecisionRecord:
        """The request's record, once the recorder has it (it is handed over after the
        response's last byte, so it can lag the client by a moment)."""
        wait_for(lambda: self.store.get(request_id) is not None, f"the record of {request_id}")
        found = self.store.get(request_id)
        assert found is not None
        return found


class Upstream(Protocol):
    """Where the proxy sends its requests: the fake server, gated or not."""

    @property
    def url(self) -> str: ...


@contextmanager
def shadow_proxy(
    fake: Upstream,
    store: Store,
    policy: Policy,
    *,
    seed: int = 7,
) -> Iterator[ShadowProxy]:
    """The proxy with ``policy``, recording into ``store``, shadow evaluation seeded."""
    settings = ProxySettings(
        upstream=UpstreamConfig(base_url=fake.url, retry=FAST),
        server_key=SERVER_KEY,
        client_keys=ClientKeys.parse(f"app: {CLIENT_KEY}", "test keys"),
    )
    recorder = Recorder(store, flush_interval=0.01)
    judge = policy.config.shadow.judge_model or HAIKU
    worker = ShadowWorker(
        policy.config.shadow, store, api_key=SERVER_KEY, judge_model=judge, seed=seed
    )
    app = create_app(
        MessagesRouter(Router(policy)),
        settings,
        on_outcome=recorder.record,
        shadow=worker,
    )
    server = ProxyServer(app).start()
    try:
        yield ShadowProxy(server, worker, recorder, store)
    finally:
        server.stop()
        recorder.close()


def judge_requests(fake: FakeAnthropicServer) -> list[RecordedRequest]:
    return [r for r in fake.log.messages() if r.model == JUDGE]


def judge_prompt(request: RecordedRequest) -> str:
    content = request.body["messages"][0]["content"]
    assert isinstance(content, str)
    return content


def position_of(answer: str, prompt: str) -> str:
    """Where ``answer`` was shown to the judge: ``A`` or ``B``."""
    a = prompt.split("<answer_a>", 1)[1].split("</answer_a>", 1)[0]
    b = prompt.split("<answer_b>", 1)[1].split("</answer_b>", 1)[0]
    assert (answer in a) != (answer in b), "the answer must be shown exactly once"
    return "A" if answer in a else "B"
