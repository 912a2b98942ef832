"""The load of the side-by-side benchmark: wrk with a Lua body, and an asyncio client that
measures time to first token."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

import bench_proxy
from side_by_side_servers import (
    CCR,
    CONNECTIONS_HIGH,
    CONNECTIONS_LOW,
    DIRECT,
    PROMPT,
    REALISTIC_PROMPT,
    UPSTREAM_MODEL,
    Server,
    cpu_seconds,
)


@dataclass(frozen=True)
class Run:
    """One load run: latency percentiles (ms), rate, error counts, and CPU ms per request."""

    rps: float
    p50: float
    p99: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per server, per request
    ttft_p50: float = 0.0  # --realistic only
    ttft_p99: float = 0.0

    @property
    def error_fraction(self) -> float:
        return (self.non_2xx + self.socket_errors) / max(self.requests, 1)


def body(model: str, stream: bool, prompt: str) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    }


HEADERS = {
    "content-type": "application/json",
    "anthropic-version": "2023-06-01",
    "x-api-key": "bench-key",
}


# A request Claude Code 2.1.332 sent (a tool loop's first turn: system prompt, 40 tools, the
# user's words wrapped in reminders, 88 KB), as the agent-body scenario's JSON body.
AGENT_FIXTURE = Path(__file__).parents[1] / "tests/data/claude_code/tool_loop_turn1.json"


def agent_body(model: str) -> bytes:
    """The captured Claude Code body aimed at ``model``, written as Node writes JSON."""
    captured = json.loads(AGENT_FIXTURE.read_text())["body"]
    agent = {**captured, "model": model, "stream": False}
    return json.dumps(agent, ensure_ascii=False, separators=(",", ":")).encode()


def lua_script(model: str, stream: bool, directory: Path, *, agent: bool = False) -> Path:
    path = directory / f"{model}-{int(stream)}{'-agent' if agent else ''}.lua"
    if agent:  # read from a file: the body holds bytes a Lua string literal cannot
        data = directory / f"{model}-agent.json"
        data.write_bytes(agent_body(model))
        lines = [
            'wrk.method = "POST"',
            f"local file = io.open({json.dumps(str(data))}, 'rb')",
            "wrk.body = file:read('*a')",
            "file:close()",
        ]
    else:
        lines = [
            'wrk.method = "POST"',
            f"wrk.body = {json.dumps(json.dumps(body(model, stream, PROMPT)))}",
        ]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in HEADERS.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, script: Path, connections: int, seconds: int) -> Run:
    """One wrk run (``bench_proxy.wrk``), with its error counts kept apart."""
    run = bench_proxy.wrk(url, script, connections, seconds)
    return Run(
        rps=run.rps,
        p50=run.p50,
        p99=run.p99,
        requests=run.requests,
        non_2xx=run.errors,
        socket_errors=run.socket_errors,
    )


# ---------------------------------------------------------------- load: TTFT (--realistic)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _ttft_load(url: str, model: str, connections: int, seconds: int) -> Run:
    payload = json.dumps(body(model, True, REALISTIC_PROMPT)).encode()
    ttfts: list[float] = []
    totals: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while time.monotonic() < deadline:
            start = time.perf_counter()
            first: float | None = None
            complete = False
            try:
                async with session.post(url, data=payload, headers=HEADERS) as response:
                    async for line in response.content:
                        if first is None and line.startswith(b"event: content_block_delta"):
                            first = time.perf_counter()
                        elif line.startswith(b"event: message_stop"):
                            complete = True
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok and complete and first is not None:
                ttfts.append((first - start) * 1000)
                totals.append((time.perf_counter() - start) * 1000)
            else:
                failures += 1

    connector = aiohttp.TCPConnector(limit=connections)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(connections)))
    elapsed = time.monotonic() - started
    return Run(
        rps=len(totals) / elapsed,
        p50=_percentile(totals, 0.5),
        p99=_percentile(totals, 0.99),
        requests=len(totals) + failures,
        non_2xx=failures,
        socket_errors=0,
        ttft_p50=_percentile(ttfts, 0.5),
        ttft_p99=_percentile(ttfts, 0.99),
    )


# ----------------------------------------------------------------------------- the bench


@dataclass(frozen=True)
class Scenario:
    name: str
    stream: bool
    connections: int
    agent: bool = False  # the captured Claude Code body instead of the one-line prompt


WRK_SCENARIOS = (
    Scenario("json-c1", False, CONNECTIONS_LOW),
    Scenario("json-c16", False, CONNECTIONS_HIGH),
    Scenario("stream-c16", True, CONNECTIONS_HIGH),
    Scenario("agent-c16", False, CONNECTIONS_HIGH, agent=True),
)
TTFT_SCENARIOS = (
    Scenario("ttft-c1", True, CONNECTIONS_LOW),
    Scenario("ttft-c16", True, CONNECTIONS_HIGH),
)


def probe(url: str, model: str, stream: bool) -> None:
    """One request through ``url``; the answer must be the fake's (it echoes the prompt)."""
    request = urllib.request.Request(
        url, data=json.dumps(body(model, stream, PROMPT)).encode(), headers=HEADERS
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        status, text = response.status, response.read().decode()
    # JSON: "[claude-...] ok: Reformat this JSON ..."; a stream: one word per text delta.
    marks = ("ok:", '" Reformat"', "message_stop") if stream else ("ok: Reformat this JSON",)
    if status != 200 or not all(mark in text for mark in marks):
        raise RuntimeError(f"{url} did not answer with the fake upstream's reply:\n{text}")


def measure(
    servers: dict[str, Server],
    scenario: Scenario,
    target: str,
    seconds: int,
    scripts: Path,
    realistic: bool,
) -> Run:
    server = servers[target]
    model = UPSTREAM_MODEL if target in (DIRECT, CCR) else "auto"
    before = {name: cpu_seconds(s.process.pid) for name, s in servers.items()}
    if realistic:
        run = asyncio.run(_ttft_load(server.url, model, scenario.connections, seconds))
    else:
        script = lua_script(model, scenario.stream, scripts, agent=scenario.agent)
        run = wrk(server.url, script, scenario.connections, seconds)
    done = max(run.requests, 1)
    cpu = {
        name: (cpu_seconds(s.process.pid) - before[name]) * 1000 / done
        for name, s in servers.items()
    }
    return Run(**{**asdict(run), "cpu_ms": cpu})
