"""Fixtures for the fake Anthropic server's tests: a running server and SDK clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tierwise.testing import FakeAnthropicServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def client(fake: FakeAnthropicServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.url, api_key="test", max_retries=0) as sdk:
        yield sdk
