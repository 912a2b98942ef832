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

Load: wrk with a Lua script for the POST body (JSON at 1 and 16 clients, streaming at 16, and
a request Claude Code sent, 88 KB with its system prompt and tools, as JSON at 16 clients).
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
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench_proxy import free_port
from side_by_side_load import TTFT_SCENARIOS, WRK_SCENARIOS, Run, measure, probe
from side_by_side_servers import (
    CCR,
    CCR_DIR_ENV,
    CCR_PACKAGE,
    CCR_VERSION,
    DEFAULT_CCR_DIR,
    DIRECT,
    MAX_ERROR_FRACTION,
    NORECORD,
    REALISTIC_LATENCY,
    TARGETS,
    TIERWISE,
    UPSTREAM_MODEL,
    Server,
    Servers,
    ccr_config,
    ensure_ccr,
)


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
        rate_row("Claude Code body (88 KB), 16 clients, req/s", "agent-c16")
        cpu_row("CPU ms per request, Claude Code body", "agent-c16")
        overhead_row("recording overhead, CPU per JSON request", "json-c16", "cpu")
        overhead_row("recording overhead, CPU per stream", "stream-c16", "cpu")
        overhead_row("recording overhead, JSON req/s (16 clients)", "json-c16", "rps")
        overhead_row("recording overhead, Claude Code body req/s", "agent-c16", "rps")
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

        serve = [tierwise, "serve", "--upstream", upstream, "--workers", str(args.workers)]
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
    parser.add_argument(
        "--workers", type=int, default=1, help="tierwise serve --workers (default 1)"
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
