"""``tierwise serve`` as a real process, for the tests that need one (a command, a clean stop,
several proxies on one database)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


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
