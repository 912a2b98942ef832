"""Fixtures for the dashboard's tests: a store holding known records, and real proxies on it.

Each proxy runs on a real socket on 127.0.0.1 in front of the project's fake Anthropic API,
with the store handed to ``create_app`` as ``tierwise serve`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tierwise.analysis.dashboard.routes import dashboard_routes
from tierwise.core.policy import Policy, load_policy
from tierwise.learned.pipeline import Router
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ClientKeys, ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer

from .dataset import known_records

SERVER_KEY = "sk-ant-server-dashboard-0123"
ALICE = "tw-alice-dashboard-key"
KEYS = f"alice: {ALICE}\nbob: tw-bob-dashboard-key\n"


@dataclass
class Dashboard:
    """A running proxy with a dashboard, and what is behind it."""

    server: ProxyServer
    router: Router
    store: Store | None

    @property
    def url(self) -> str:
        return self.server.url


DashboardFactory = Callable[..., Dashboard]


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(None)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(scope="session")
def records(policy: Policy) -> list[DecisionRecord]:
    return known_records(datetime.now(UTC), policy)


@pytest.fixture(scope="session")
def store(
    tmp_path_factory: pytest.TempPathFactory, records: list[DecisionRecord]
) -> Iterator[Store]:
    """A SQLite store holding exactly ``records``."""
    path: Path = tmp_path_factory.mktemp("dashboard") / "decisions.db"
    with Store(str(path)) as opened:
        opened.migrate()
        assert opened.insert_many(records) == len(records)
        yield opened


@pytest.fixture
def make_dashboard(fake: FakeAnthropicServer, policy: Policy) -> Iterator[DashboardFactory]:
    """Start proxies: ``store=`` (or ``None``), ``keyed=True`` for server-key mode with
    client keys; stopped after the test."""
    running: list[ProxyServer] = []

    def start(*, store: Store | None, keyed: bool = False, **settings: Any) -> Dashboard:
        if keyed:
            settings["server_key"] = SERVER_KEY
            settings["client_keys"] = ClientKeys.parse(KEYS, "test")
        config = ProxySettings(upstream=UpstreamConfig(base_url=fake.url), **settings)
        router = Router(policy)
        app = create_app(
            MessagesRouter(router),
            config,
            routes=dashboard_routes(store, router, config.client_keys),
        )
        server = ProxyServer(app).start()
        running.append(server)
        return Dashboard(server, router, store)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def dashboard(make_dashboard: DashboardFactory, store: Store) -> Dashboard:
    """An open proxy (no client keys) whose dashboard reports on ``store``."""
    return make_dashboard(store=store)
