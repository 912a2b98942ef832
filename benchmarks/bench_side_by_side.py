"""tierwise beside claude-code-router, both in front of the same fake upstream, in one run.

Five processes: the fake Anthropic API (``tierwise fake-anthropic``), claude-code-router (the
npm package, pinned below, run headless with ``node cli.js start`` and HOME in a temp dir) in
front of it, ``tierwise serve`` in front of it twice (recording decisions to a temp SQLite db,
and ``--no-record``), and the load generator. Targets are measured interleaved, round-robin
(direct, claude-code-router, tierwise, tierwise --no-record, repeated ``--rounds`` times with
the order rotated each round) and the medians over rounds are printed as one table: added
latency against the direct baseline measured in the same round, throughput, and each server's
CPU per request (utime+stime from /proc/PID/stat over the requests the load completed).

    make bench-side-by-side          # installs wrk (Debian) if missing, then runs this
    python benchmarks/bench_side_by_side.py [--seconds 5] [--rounds 3] [--realistic] [--json]

Load: wrk with a Lua script for the POST body (JSON at 1 and 16 clients, streaming at 16).
``--realistic``: the fake waits 50 ms before answering and streams the longest text it can
(15 text deltas: ``fake-anthropic`` has no option for the number of deltas); a small asyncio
client measures time to first token (the first ``content_block_delta``) at 1 and 16 clients.

claude-code-router is installed outside the repository on first use with
``npm install --prefix DIR @musistudio/claude-code-router@VERSION``; DIR is ``--ccr-dir``,
else $TIERWISE_BENCH_CCR_DIR, else ~/.cache/tierwise-bench/ccr. Its provider uses the
"Anthropic" transformer alone, which makes it forward the Anthropic request as it came (it
only sets ``model`` from its Router and the provider's key) and the upstream response as is.

On a shared 2-core machine the processes compete for the cores, so absolute numbers move from
run to run; compare the columns of one run. A wrk run with more than 1% non-2xx responses or
socket errors fails the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def lua_script(model: str, stream: bool, directory: Path) -> Path:
    path = directory / f"{model}-{int(stream)}.lua"
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {json.dumps(json.dumps(body(model, stream, PROMPT)))}",
    ]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in HEADERS.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, script: Path, connections: int, seconds: int) -> Run:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {label} latency in wrk output:\n{output}")
        return float(match.group(1)) * _UNITS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    done = re.search(r"(\d+) requests in", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Run(
        rps=float(rps.group(1)) if rps else 0.0,
        p50=latency("50%"),
        p99=latency("99%"),
        requests=int(done.group(1)) if done else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
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


WRK_SCENARIOS = (
    Scenario("json-c1", False, CONNECTIONS_LOW),
    Scenario("json-c16", False, CONNECTIONS_HIGH),
    Scenario("stream-c16", True, CONNECTIONS_HIGH),
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
        run = wrk(
            server.url, lua_script(model, scenario.stream, scripts), scenario.connections, seconds
        )
    done = max(run.requests, 1)
    cpu = {
        name: (cpu_seconds(s.process.pid) - before[name]) * 1000 / done
        for name, s in servers.items()
    }
    return Run(**{**asdict(run), "cpu_ms": cpu})


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Results:
    realistic: bool
    seconds: int
    rounds: int
    runs: dict[str, dict[str, list[Run]]]  # scenario -> target -> one Run per round

    def value(self, scenario: str, target: str, metric: str) -> float:
        return median([getattr(run, metric) for run in self.runs[scenario][target]])

    def added(self, scenario: str, target: str, metric: str) -> float:
        """Median over rounds of (target - direct) measured in the same round."""
        pairs = zip(self.runs[scenario][target], self.runs[scenario][DIRECT], strict=True)
        return median([getattr(run, metric) - getattr(base, metric) for run, base in pairs])

    def cpu(self, scenario: str, target: str) -> float:
        """CPU ms per request of the target's own server process (the fake's for direct)."""
        return median([run.cpu_ms[target] for run in self.runs[scenario][target]])


def _ratio(tierwise: float, ccr: float) -> str:
    """tierwise/ccr; n/a when either is not positive (an added latency lost in the noise)."""
    return f"{tierwise / ccr:.2f}" if ccr > 0 and tierwise > 0 else "n/a"


def table(results: Results) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []

    def latency_row(label: str, scenario: str, metric: str) -> None:
        ccr, tw = results.added(scenario, CCR, metric), results.added(scenario, TIERWISE, metric)
        rows.append(
            (
                label,
                f"{results.value(scenario, DIRECT, metric):.2f}",
                f"{ccr:+.2f}",
                f"{tw:+.2f}",
                _ratio(tw, ccr),
            )
        )

    def rate_row(label: str, scenario: str) -> None:
        direct, ccr, tw = (results.value(scenario, t, "rps") for t in (DIRECT, CCR, TIERWISE))
        rows.append((label, f"{direct:.0f}", f"{ccr:.0f}", f"{tw:.0f}", _ratio(tw, ccr)))

    def cpu_row(label: str, scenario: str) -> None:
        direct, ccr, tw = (results.cpu(scenario, t) for t in (DIRECT, CCR, TIERWISE))
        rows.append((label, f"{direct:.3f}", f"{ccr:.3f}", f"{tw:.3f}", _ratio(tw, ccr)))

    def overhead_row(label: str, scenario: str, metric: str) -> None:
        if metric == "cpu":
            on, off = results.cpu(scenario, TIERWISE), results.cpu(scenario, NORECORD)
        else:
            on, off = (
                results.value(scenario, TIERWISE, metric),
                results.value(scenario, NORECORD, metric),
            )
        rows.append((label, "-", "-", f"{(on - off) / off * 100:+.1f}%" if off else "n/a", ""))

    if results.realistic:
        latency_row("TTFT, 1 client, p50 ms (added)", "ttft-c1", "ttft_p50")
        latency_row("TTFT, 1 client, p99 ms (added)", "ttft-c1", "ttft_p99")
        latency_row("TTFT, 16 clients, p50 ms (added)", "ttft-c16", "ttft_p50")
        latency_row("TTFT, 16 clients, p99 ms (added)", "ttft-c16", "ttft_p99")
        latency_row("whole stream, 16 clients, p50 ms (added)", "ttft-c16", "p50")
        rate_row("streams/s, 16 clients", "ttft-c16")
        cpu_row("CPU ms per stream, 16 clients", "ttft-c16")
        overhead_row("recording overhead, CPU per stream", "ttft-c16", "cpu")
    else:
        latency_row("JSON, 1 client, p50 ms (added)", "json-c1", "p50")
        latency_row("JSON, 1 client, p99 ms (added)", "json-c1", "p99")
        rate_row("JSON, 16 clients, req/s", "json-c16")
        latency_row("JSON, 16 clients, p99 ms (added)", "json-c16", "p99")
        rate_row("stream, 16 clients, streams/s", "stream-c16")
        latency_row("stream, 16 clients, p99 ms (added)", "stream-c16", "p99")
        cpu_row("CPU ms per request, JSON (16 clients)", "json-c16")
        cpu_row("CPU ms per request, stream (16 clients)", "stream-c16")
        overhead_row("recording overhead, CPU per JSON request", "json-c16", "cpu")
        overhead_row("recording overhead, CPU per stream", "stream-c16", "cpu")
        overhead_row("recording overhead, JSON req/s (16 clients)", "json-c16", "rps")
    return rows


def print_table(results: Results) -> None:
    header = ("scenario", DIRECT, CCR, TIERWISE, "tierwise/ccr")
    rows = [header, *table(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    mode = "realistic: 50 ms to first byte, 15 text deltas" if results.realistic else "no latency"
    print(
        f"\nmedians of {results.rounds} interleaved rounds x {results.seconds}s; fake upstream "
        f"{mode}; direct = the fake alone; added = proxy - direct in the same round; CPU = the "
        f"server's own process group (the fake's for direct); ratio < 1: tierwise lighter/faster "
        f"on latency and CPU rows, slower on rate rows"
    )
    print("\nerrors (non-2xx + socket errors / requests, summed over rounds):")
    for scenario, by_target in results.runs.items():
        cells = []
        for target, runs in by_target.items():
            bad = sum(run.non_2xx + run.socket_errors for run in runs)
            cells.append(f"{target} {bad}/{sum(run.requests for run in runs)}")
        print(f"  {scenario:<11} " + ", ".join(cells))


def unreached(results: Results) -> list[str]:
    """Proxied runs during which the fake used far less CPU per request than when called direct.

    A proxy answering by itself (a cache, an error page wrk counts as 2xx) would show here.
    """
    suspects = []
    for scenario, by in results.runs.items():
        direct = median([run.cpu_ms[DIRECT] for run in by[DIRECT]])
        for target in (CCR, TIERWISE, NORECORD):
            upstream = median([run.cpu_ms[DIRECT] for run in by[target]])
            if upstream < 0.25 * direct:
                suspects.append(
                    f"{scenario} {target}: the fake used {upstream:.3f} ms CPU per request, "
                    f"{direct:.3f} when called direct"
                )
    return suspects


_LATENCIES = ("p50", "p99", "ttft_p50", "ttft_p99")
_METRICS = ("rps", *_LATENCIES)


def to_json(results: Results) -> dict[str, Any]:
    return {
        "ccr": {"package": CCR_PACKAGE, "version": CCR_VERSION},
        "realistic": results.realistic,
        "seconds": results.seconds,
        "rounds": results.rounds,
        "table": [
            dict(zip(("scenario", DIRECT, CCR, TIERWISE, "ratio_tierwise_ccr"), row, strict=True))
            for row in table(results)
        ],
        "medians": {
            scenario: {
                target: {
                    **{m: results.value(scenario, target, m) for m in _METRICS},
                    **{f"added_{m}": results.added(scenario, target, m) for m in _LATENCIES},
                    "cpu_ms_per_request": results.cpu(scenario, target),
                }
                for target in by
            }
            for scenario, by in results.runs.items()
        },
        "runs": {
            scenario: {target: [asdict(run) for run in runs] for target, runs in by.items()}
            for scenario, by in results.runs.items()
        },
    }


@contextmanager
def running(args: argparse.Namespace, directory: Path) -> Iterator[dict[str, Server]]:
    tierwise = str(Path(sys.executable).with_name("tierwise"))
    cli = ensure_ccr(args.ccr_dir)
    node = shutil.which("node")
    if node is None:
        sys.exit("claude-code-router needs Node.js (apt-get install nodejs)")
    servers = Servers(directory)
    try:
        fake_port = free_port()
        fake_argv = [tierwise, "fake-anthropic", "--port", str(fake_port)]
        if args.realistic:
            fake_argv += ["--latency", str(REALISTIC_LATENCY)]
        fake = servers.start(DIRECT, fake_port, fake_argv)
        upstream = f"http://127.0.0.1:{fake_port}"

        home = directory / "ccr-home"
        (home / ".claude-code-router").mkdir(parents=True)
        ccr_port = free_port()
        (home / ".claude-code-router" / "config.json").write_text(
            json.dumps(ccr_config(ccr_port, fake_port), indent=2)
        )
        env = {**os.environ, "HOME": str(home), "TMPDIR": str(directory)}
        env.pop("SERVICE_PORT", None)  # it would override PORT
        ccr = servers.start(CCR, ccr_port, [node, str(cli), "start"], env)

        serve = [tierwise, "serve", "--upstream", upstream]
        tw_port, norec_port = free_port(), free_port()
        db = directory / "tierwise.db"
        tw = servers.start(TIERWISE, tw_port, [*serve, "--port", str(tw_port), "--db", str(db)])
        norec = servers.start(
            NORECORD, norec_port, [*serve, "--port", str(norec_port), "--no-record"]
        )
        yield {DIRECT: fake, CCR: ccr, TIERWISE: tw, NORECORD: norec}
    finally:
        servers.close()


def run_bench(args: argparse.Namespace) -> Results:
    scenarios = TTFT_SCENARIOS if args.realistic else WRK_SCENARIOS
    runs: dict[str, dict[str, list[Run]]] = {s.name: {t: [] for t in TARGETS} for s in scenarios}
    with (
        tempfile.TemporaryDirectory(prefix="bench-side-by-side-") as tmp,
        running(args, Path(tmp)) as servers,
    ):
        scripts = Path(tmp)
        for target in TARGETS:  # the answer must come from the fake, through each proxy
            model = UPSTREAM_MODEL if target in (DIRECT, CCR) else "auto"
            for stream in (False, True):
                probe(servers[target].url, model, stream)
        for target in TARGETS:  # warm up (node's JIT, connection pools)
            for scenario in scenarios:
                measure(servers, scenario, target, 1, scripts, args.realistic)
        for round_index in range(args.rounds):
            for scenario in scenarios:
                shift = round_index % len(TARGETS)
                for target in TARGETS[shift:] + TARGETS[:shift]:
                    run = measure(servers, scenario, target, args.seconds, scripts, args.realistic)
                    runs[scenario.name][target].append(run)
                    print(
                        f"round {round_index + 1}/{args.rounds} {scenario.name:<10} "
                        f"{target:<18} {run.rps:>8.0f}/s p50 {run.p50:6.2f}ms "
                        f"p99 {run.p99:6.2f}ms  "
                        + (f"ttft p50 {run.ttft_p50:6.2f}ms  " if args.realistic else "")
                        + f"errors {run.non_2xx + run.socket_errors}"
                        f"/{run.requests}",
                        file=sys.stderr,
                    )
        db = Path(tmp) / "tierwise.db"
        if not db.exists() or db.stat().st_size == 0:
            raise RuntimeError(f"tierwise recorded nothing: {db} is missing or empty")
    return Results(args.realistic, args.seconds, args.rounds, runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5, help="per measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="50 ms to first byte; measure added time to first token",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--ccr-dir",
        type=Path,
        default=Path(os.environ.get(CCR_DIR_ENV) or DEFAULT_CCR_DIR),
        help=f"where claude-code-router is installed (default ${CCR_DIR_ENV} or {DEFAULT_CCR_DIR})",
    )
    args = parser.parse_args()
    # a SIGTERM to this script unwinds through the finally that kills the servers
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if not args.realistic and shutil.which("wrk") is None:
        sys.exit(
            "wrk is not installed: `make bench-side-by-side` installs it (apt-get install wrk)"
        )
    results = run_bench(args)
    if args.json:
        print(json.dumps(to_json(results), indent=2))
    else:
        print_table(results)
    failed = [
        f"{scenario} {target}: {run.non_2xx} non-2xx, {run.socket_errors} socket errors "
        f"of {run.requests}"
        for scenario, by in results.runs.items()
        for target, runs in by.items()
        for run in runs
        if run.error_fraction > MAX_ERROR_FRACTION or run.requests == 0
    ]
    if failed:
        sys.exit("more than 1% errors:\n  " + "\n  ".join(failed))
    suspects = unreached(results)
    if suspects:
        sys.exit("requests may not have reached the fake upstream:\n  " + "\n  ".join(suspects))


if __name__ == "__main__":
    main()
