"""``tierwise serve`` as a real process, for tests and benchmarks that need one: a command-line
run, a clean stop (the recorder flushes), several proxies sharing one database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["ServedProxy", "free_port", "serve_process"]


@dataclass
class ServedProxy:
    """A running ``tierwise serve``: its base URL, command and process; ``stderr`` is filled
    in once it stopped."""

    url: str
    command: list[str]
    process: subprocess.Popen[str]
    stderr: str = ""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def serve_process(
    *options: str, env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> Iterator[ServedProxy]:
    """``tierwise serve OPTIONS --port P`` until ``/healthz`` answers; stopped with SIGINT when
    the block ends (a clean stop: the recorder flushes its queue)."""
    port = free_port()
    command = [sys.executable, "-m", "tierwise.cli", "serve", "--port", str(port), *options]
    environ = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    process = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)
    served = ServedProxy(f"http://127.0.0.1:{port}", command, process)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(served.url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"tierwise serve did not start (exit {process.poll()})")
            time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, served.stderr = process.communicate(timeout=120)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
