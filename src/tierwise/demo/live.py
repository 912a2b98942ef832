"""The live demo: the bundled workload through the proxy, with the official SDK as the client.

Without an upstream URL it starts tierwise's fake Anthropic server, so no key and no network are
needed; with ``upstream_url="https://api.anthropic.com"`` and a key it runs against the real API.
Every fourth request streams, so both paths of the proxy are exercised.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tierwise.demo import DemoTask, load_workload
from tierwise.dispatch import MessagesRouter
from tierwise.errors import TierwiseError
from tierwise.outcome import Outcome
from tierwise.policy import Policy
from tierwise.router import Router

DEMO_MAX_TOKENS = 512
STREAM_EVERY = 4


@dataclass(frozen=True)
class LiveDemo:
    """What the proxy recorded for every request of the workload."""

    outcomes: list[tuple[DemoTask, Outcome]]
    upstream: str

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
    policy: Policy, *, upstream_url: str | None = None, api_key: str | None = None
) -> LiveDemo:
    """Start the proxy (and the fake upstream unless a URL is given) and send the workload."""
    try:
        import anthropic
    except ImportError as exc:  # pragma: no cover - the dev install always has it
        raise TierwiseError(
            "the demo sends its requests with the official SDK: pip install 'tierwise[sdk]'"
        ) from exc
    from tierwise.proxy import ProxyServer, ProxySettings, create_app
    from tierwise.upstream import UpstreamConfig

    recorded = _Recorded()
    outcomes: list[tuple[DemoTask, Outcome]] = []
    with _upstream(upstream_url) as base_url:
        settings = ProxySettings(upstream=UpstreamConfig(base_url=base_url))
        app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=recorded.add)
        with (
            ProxyServer(app) as proxy,
            anthropic.Anthropic(
                base_url=proxy.url, api_key=api_key or "demo-key-not-secret", max_retries=0
            ) as client,
        ):
            for index, task in enumerate(load_workload()):
                _send(client, task, stream=index % STREAM_EVERY == STREAM_EVERY - 1)
                outcome = recorded.wait_for(index)
                if outcome is not None:
                    outcomes.append((task, outcome))
    return LiveDemo(outcomes=outcomes, upstream=upstream_url or "tierwise fake upstream")


class _Recorded:
    """Outcomes in arrival order; the proxy reports one after each response has finished."""

    def __init__(self) -> None:
        self._outcomes: list[Outcome] = []
        self._arrived = threading.Condition()

    def add(self, outcome: Outcome) -> None:
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
