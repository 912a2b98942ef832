"""Proxies for tests: ``tierwise serve`` as a real process (a command, a clean stop, several
proxies on one database), and ``RunningProxy``, an in-process proxy with the outcomes it
reported."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tierwise.outcome import Outcome
from tierwise.proxy.messages import MessagesEndpoint
from tierwise.proxy.server import ProxyServer


@dataclass
class Served:
    """A running proxy: its base URL and process; ``stderr`` is filled in once it stopped."""

    url: str
    process: subprocess.Popen[str]
    stderr: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def serving(*options: str, timeout: float = 30.0) -> Iterator[Served]:
    """``tierwise serve OPTIONS --port P`` until ``/healthz`` answers; stopped with SIGINT (a
    clean stop: the recorder flushes) when the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "tierwise.cli", "serve", "--port", str(port), *options]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{served.url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, served.stderr = process.communicate(timeout=60)


@dataclass
class RunningProxy:
    """A proxy on a real socket, and the outcomes it reported."""

    server: ProxyServer
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def endpoint(self) -> MessagesEndpoint:
        """The ``/v1/messages`` handler (to reach its classifier)."""
        app: Any = self.server.app
        found = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/v1/messages")
        assert isinstance(found, MessagesEndpoint)
        return found

    def wait_outcomes(self, count: int = 1, timeout: float = 5.0) -> list[Outcome]:
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} outcomes, got {len(self.outcomes)}")
            time.sleep(0.002)
        return list(self.outcomes)
