"""The processes of the side-by-side benchmark: the fake upstream, claude-code-router (installed
from npm on first use) and ``tierwise serve``, each in its own process group, and their CPU."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CCR_PACKAGE = "@musistudio/claude-code-router"
CCR_VERSION = "2.0.0"
CCR_DIR_ENV = "TIERWISE_BENCH_CCR_DIR"
DEFAULT_CCR_DIR = Path.home() / ".cache" / "tierwise-bench" / "ccr"

UPSTREAM_MODEL = "claude-haiku-5-5"  # what ccr's Router sends upstream, and what direct asks for
PROMPT = 'Reformat this JSON with 2-space indentation: {"a": 1, "b": [1, 2]}'
# The fake echoes at most 12 words of the prompt, one word per delta: 15 text deltas in all.
REALISTIC_PROMPT = (
    "Please explain in plain words what this small function does and why the loop "
    "stops early when the list is empty or already sorted"
)
REALISTIC_LATENCY = 0.05  # seconds before the fake's first byte
MAX_ERROR_FRACTION = 0.01
CONNECTIONS_LOW, CONNECTIONS_HIGH = 1, 16
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

DIRECT, CCR, TIERWISE, NORECORD = "direct", "claude-code-router", "tierwise", "tierwise-norecord"
TARGETS = (DIRECT, CCR, TIERWISE, NORECORD)


# ----------------------------------------------------------------------------- processes


def wait_for(port: int, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name}: nothing listens on port {port}:\n{log.read_text()}")


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/messages"


def cpu_seconds(pgid: int) -> float:
    """utime+stime of every live process in process group ``pgid`` (all their threads)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # fields from the 3rd (state) on
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _CLOCK_TICKS


class Servers:
    """Starts processes in their own process groups; ``close`` kills every group."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Server] = []

    def start(
        self, name: str, port: int, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> Server:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=env,
                start_new_session=True,  # its own process group, killed whole on exit
            )
        server = Server(name, port, process)
        self.started.append(server)
        wait_for(port, process, name, log)
        return server

    def close(self) -> None:
        for server in self.started:
            _signal_group(server.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for server in self.started:
            with suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(server.process.pid, signal.SIGKILL)  # stragglers in the group too
            if server.process.poll() is None:
                server.process.wait(timeout=5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


# ----------------------------------------------------------------------- claude-code-router


def ensure_ccr(directory: Path) -> Path:
    """The pinned claude-code-router's cli.js under ``directory``, installed with npm if absent."""
    package = directory / "node_modules" / CCR_PACKAGE
    manifest = package / "package.json"
    installed = json.loads(manifest.read_text()).get("version") if manifest.exists() else None
    if installed != CCR_VERSION:
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            sys.exit("claude-code-router needs Node.js and npm (apt-get install nodejs npm)")
        directory.mkdir(parents=True, exist_ok=True)
        print(f"installing {CCR_PACKAGE}@{CCR_VERSION} into {directory}", file=sys.stderr)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(directory),
                "--no-audit",
                "--no-fund",
                f"{CCR_PACKAGE}@{CCR_VERSION}",
            ],
            check=True,
            stdout=sys.stderr,
        )
    cli = package / "dist" / "cli.js"
    if not cli.exists():
        sys.exit(f"{cli} is missing after installing {CCR_PACKAGE}@{CCR_VERSION}")
    return cli


def ccr_config(port: int, upstream_port: int) -> dict[str, Any]:
    """A claude-code-router config that forwards Anthropic requests to the fake unchanged."""
    return {
        "LOG": False,  # its default is pino at debug level into ~/.claude-code-router/logs
        "HOST": "127.0.0.1",
        "PORT": port,
        "NON_INTERACTIVE_MODE": True,
        "API_TIMEOUT_MS": 60000,
        "Providers": [
            {
                "name": "fake",
                "api_base_url": f"http://127.0.0.1:{upstream_port}/v1/messages",
                "api_key": "bench-key",
                "models": [UPSTREAM_MODEL],
                # "Anthropic" alone as the provider's transformer is ccr's bypass: the request
                # body and the response go through untransformed.
                "transformer": {"use": ["Anthropic"]},
            }
        ],
        "Router": {"default": f"fake,{UPSTREAM_MODEL}"},
    }


# ----------------------------------------------------------------------------- load: wrk
