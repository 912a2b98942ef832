"""The live demo: the bundled workload through the proxy, with the official SDK as the client.

Without an upstream URL it starts tierwise's fake Anthropic server, so no key and no network are
needed; with ``upstream_url="https://api.anthropic.com"`` and a key it runs against the real API.
Every fourth request streams, so both paths of the proxy are exercised.

The demo's decisions are recorded like the proxy's (``record=True``), but into a store of their
own (``demo.db`` beside the default store, or ``db``), so synthetic requests never mix with
real traffic; ``tierwise report --db`` on that file shows what the demo saved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tierwise.core.errors import TierwiseError
from tierwise.core.policy import Policy
from tierwise.demo import DemoTask, load_workload
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.messages.routing import MessagesRouter

if TYPE_CHECKING:
    from tierwise.ledger.recorder import Recorder

DEMO_MAX_TOKENS = 512
STREAM_EVERY = 4
DEMO_DB_FILE = "demo.db"  # the demo's own store, beside the default tierwise.db


def demo_db() -> str:
    """The demo's default store: ``demo.db`` in the data directory, apart from ``serve``'s."""
    from tierwise.ledger.store.paths import data_dir

    return str(data_dir() / DEMO_DB_FILE)


class DemoRequestError(TierwiseError):
    """A demo request failed: what failed and why, in one line."""


@dataclass(frozen=True)
class LiveDemo:
    """What the proxy recorded for every request of the workload."""

    outcomes: list[tuple[DemoTask, Outcome]]
    upstream: str
    store: str | None = None  # where the decisions were recorded (path or redacted URL)
    recorded: int = 0  # records kept: in the store, or in its spool until it answers

    def served(self) -> list[Outcome]:
        """Outcomes of the requests that were answered."""
        return [outcome for _, outcome in self.outcomes if outcome.status == 200]

    def total(self, *, baseline: bool) -> Decimal:
        """Summed cost of answered requests, as routed or on the baseline model."""
        costs = (o.baseline_cost if baseline else o.cost for o in self.served())
        return sum((c.total for c in costs if c is not None), Decimal(0))

    def percentile_ms(self, values: list[float], share: float) -> float:
        """``share`` percentile of ``values`` (seconds) in milliseconds."""
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def run_live_demo(
    policy: Policy,
    *,
    upstream_url: str | None = None,
    api_key: str | None = None,
    record: bool = True,
    db: str | None = None,
) -> LiveDemo:
    """Start the proxy (and the fake upstream unless a URL is given) and send the workload.

    With ``record`` the outcomes are also written to the decision store ``db`` (default: the
    demo's own ``demo.db``, never the store real traffic uses); ``StoreError`` for a URL that
    cannot be used. A request the upstream does not answer stops the demo with
    ``DemoRequestError`` (an unreachable upstream would fail every one of them).
    """
    try:
        import anthropic
    except ImportError as exc:  # pragma: no cover - the dev install always has it
        raise TierwiseError(
            "the demo sends its requests with the official SDK: pip install 'tierwise[sdk]'"
        ) from exc
    from tierwise.serving import ProxyServer, ProxySettings, create_app
    from tierwise.serving.upstream import UpstreamConfig

    recorder = _recorder(policy, db if db is not None else demo_db()) if record else None
    recorded = _Recorded(recorder)
    outcomes: list[tuple[DemoTask, Outcome]] = []
    try:
        with _upstream(upstream_url) as base_url:
            settings = ProxySettings(upstream=UpstreamConfig(base_url=base_url))
            app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=recorded.add)
            with (
                ProxyServer(app) as proxy,
                anthropic.Anthropic(
                    base_url=proxy.url, api_key=api_key or "demo-key-not-secret", max_retries=0
                ) as client,
            ):
                workload = load_workload()
                for index, task in enumerate(workload):
                    try:
                        _send(client, task, stream=index % STREAM_EVERY == STREAM_EVERY - 1)
                    except anthropic.APIError as exc:
                        where = upstream_url or "the fake upstream"
                        raise DemoRequestError(
                            _failure(exc, f"request {index + 1} of {len(workload)}", where)
                        ) from None
                    outcome = recorded.wait_for(index)
                    if outcome is not None:
                        outcomes.append((task, outcome))
    finally:
        stats = recorder.close() if recorder is not None else None
    return LiveDemo(
        outcomes=outcomes,
        upstream=upstream_url or "tierwise fake upstream",
        store=recorder.store.display if recorder is not None else None,
        recorded=stats.recorded - stats.dropped if stats is not None else 0,
    )


def _failure(exc: Exception, what: str, upstream: str) -> str:
    """One line for a request the SDK saw fail through the proxy."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    detail = str(message or getattr(exc, "message", "") or exc).splitlines()[0][:200]
    if status in (502, 504):
        return f"demo: {what} failed: the upstream {upstream} is unreachable ({status}: {detail})"
    if status is None:
        return f"demo: {what} failed: the proxy did not answer ({detail})"
    return f"demo: {what} failed: {upstream} answered {status}: {detail}"


def _recorder(policy: Policy, db: str | None) -> Recorder:
    from tierwise.ledger.recorder import Recorder
    from tierwise.ledger.records import policy_fingerprint
    from tierwise.ledger.store import Store

    return Recorder(Store(db), policy_fingerprint=policy_fingerprint(policy))


class _Recorded:
    """Outcomes in arrival order; the proxy reports one after each response has finished.
    Each is also handed to the recorder, if there is one."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self._outcomes: list[Outcome] = []
        self._arrived = threading.Condition()
        self._recorder = recorder

    def add(self, outcome: Outcome) -> None:
        if self._recorder is not None:
            self._recorder.record(outcome)
        with self._arrived:
            self._outcomes.append(outcome)
            self._arrived.notify_all()

    def wait_for(self, index: int, timeout: float = 5.0) -> Outcome | None:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._outcomes) > index, timeout)
            return self._outcomes[index] if len(self._outcomes) > index else None


def _send(client: Any, task: DemoTask, *, stream: bool) -> None:
    """Send one task as ``model="auto"`` through the official SDK, streaming or not."""
    kwargs: dict[str, Any] = {
        "model": "auto",
        "max_tokens": DEMO_MAX_TOKENS,
        "messages": [{"role": "user", "content": task.prompt}],
    }
    if task.system:
        kwargs["system"] = task.system
    if stream:
        with client.messages.stream(**kwargs) as events:
            events.until_done()
    else:
        client.messages.create(**kwargs)


@contextmanager
def _upstream(url: str | None) -> Iterator[str]:
    """The given upstream URL, or a fake Anthropic server running for the demo's duration."""
    if url is not None:
        yield url
        return
    from tierwise.testing import FakeAnthropicServer

    with FakeAnthropicServer() as fake:
        yield fake.url
