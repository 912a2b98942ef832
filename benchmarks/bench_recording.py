"""What recording costs the proxy under load: the same proxy with recording on and off, same run.

Four processes: the fake Anthropic API, two proxies in front of it (one ``--no-record``, one
recording to a fresh SQLite file, or to ``--db URL``), and ``wrk``. At concurrency 32 (by
default) it runs, in interleaved rounds so that drift on a shared machine hits both alike:
the fake directly, the proxy without recording, the proxy with recording. It prints each
round and the medians: requests/s, p50 latency, and the proxy's *added* p50 (proxy minus direct)
with recording off and on, and how much more the recording proxy adds (target: under 5 %),
and the CPU per request of the proxy process and, apart, of its record writer (the child
process ``tierwise serve`` starts).

At the end the recording proxy is stopped (which flushes its queue) and the store is counted:
every request ``wrk`` completed against it must be there.

With an instant fake upstream the proxy saturates its core, so every microsecond recording
spends shows up in the latency; ``--upstream-latency 0.05`` gives the fake a model's think
time, as a real upstream has, and the proxy has CPU to spare.

    python benchmarks/bench_recording.py [--seconds 10] [--rounds 3] [--upstream-latency 0.05]
        [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_proxy import Run, free_port, lua_script, wait_for, wrk


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """CPU time of the process's live children (the record writer of ``tierwise serve``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(cpu_seconds(int(child)) for child in children)


def measured(
    pid: int, url: str, script: Path, connections: int, seconds: int
) -> tuple[Run, float, float]:
    """A wrk run against ``url``, the CPU the process ``pid`` spent per request and the CPU its
    children (the writer process) spent per request (µs)."""
    before, before_children = cpu_seconds(pid), children_cpu_seconds(pid)
    load = wrk(url, script, connections, seconds)
    per_request = 1e6 / max(load.requests, 1)
    own = (cpu_seconds(pid) - before) * per_request
    return load, own, (children_cpu_seconds(pid) - before_children) * per_request


def count_records(tierwise: str, db: str) -> int:
    output = subprocess.run(
        [tierwise, "db", "status", "--db", db, "--json"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r'"records":\s*(\d+)', output)
    if match is None:
        raise RuntimeError(f"no record count in `tierwise db status`:\n{output}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--db", help="record to this store instead of a fresh SQLite file")
    parser.add_argument(
        "--upstream-latency",
        type=float,
        default=0.0,
        help="seconds the fake waits before answering (0: instant, the proxy saturates the CPU)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench-proxy` installs it (apt-get install wrk)")
    tierwise = str(Path(sys.executable).with_name("tierwise"))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        db = args.db or str(directory / "bench.db")
        env = {**os.environ, "TIERWISE_DATA_DIR": str(directory / "data")}
        fake, plain, recording = free_port(), free_port(), free_port()
        upstream = f"http://127.0.0.1:{fake}"
        latency = str(args.upstream_latency)
        processes: dict[str, subprocess.Popen[Any]] = {
            "fake": subprocess.Popen(
                [tierwise, "fake-anthropic", "--port", str(fake), "--latency", latency],
                stderr=subprocess.DEVNULL,
            ),
            "plain": subprocess.Popen(
                [tierwise, "serve", "--no-record", "--port", str(plain), "--upstream", upstream],
                stderr=subprocess.DEVNULL,
                env=env,
            ),
            "recording": subprocess.Popen(
                [tierwise, "serve", "--db", db, "--port", str(recording), "--upstream", upstream],
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            ),
        }
        try:
            for port in (fake, plain, recording):
                wait_for(port)
            before = count_records(tierwise, db)
            direct_script = lua_script("claude-haiku-5-5", False, directory)
            proxy_script = lua_script("auto", False, directory)
            c, s = args.connections, args.seconds
            rows: list[tuple[Run, Run, Run]] = []
            cpu_off: list[float] = []
            cpu_on: list[float] = []
            cpu_writer: list[float] = []
            sent_to_recording = 0
            print(
                f"concurrency {c}, {s} s per run, {args.rounds} rounds, upstream latency "
                f"{args.upstream_latency * 1000:.0f} ms, recording to {db}"
            )
            print(
                f"{'round':<6}{'direct rps':>11}{'off rps':>9}{'on rps':>9}"
                f"{'direct p50':>12}{'added off':>11}{'added on':>10}"
                f"{'CPU/req off':>13}{'CPU/req on':>12}{'writer':>9}"
            )
            for number in range(1, args.rounds + 1):
                direct = wrk(f"{upstream}/v1/messages", direct_script, c, s)
                off, cpu, _ = measured(
                    processes["plain"].pid,
                    f"http://127.0.0.1:{plain}/v1/messages",
                    proxy_script,
                    c,
                    s,
                )
                cpu_off.append(cpu)
                on, cpu, writer = measured(
                    processes["recording"].pid,
                    f"http://127.0.0.1:{recording}/v1/messages",
                    proxy_script,
                    c,
                    s,
                )
                cpu_on.append(cpu)
                cpu_writer.append(writer)
                sent_to_recording += on.requests
                rows.append((direct, off, on))
                print(
                    f"{number:<6}{direct.rps:>11.0f}{off.rps:>9.0f}{on.rps:>9.0f}"
                    f"{direct.p50:>10.2f}ms{off.p50 - direct.p50:>9.2f}ms"
                    f"{on.p50 - direct.p50:>8.2f}ms"
                    f"{cpu_off[-1]:>11.0f}µs{cpu_on[-1]:>10.0f}µs{cpu_writer[-1]:>7.0f}µs"
                    + (
                        f"  ({direct.errors + off.errors + on.errors} non-2xx!)"
                        if any(load.errors for load in (direct, off, on))
                        else ""
                    )
                )
            added_off = statistics.median(off.p50 - direct.p50 for direct, off, _ in rows)
            added_on = statistics.median(on.p50 - direct.p50 for direct, _, on in rows)
            rps_off = statistics.median(off.rps for _, off, _ in rows)
            rps_on = statistics.median(on.rps for _, _, on in rows)
            print(
                f"median added p50: off {added_off:.2f} ms, on {added_on:.2f} ms "
                f"-> recording adds {100 * (added_on / added_off - 1):+.1f}% (target < +5%); "
                f"throughput on/off {rps_on / rps_off:.2f}"
            )
            off_cpu, on_cpu = statistics.median(cpu_off), statistics.median(cpu_on)
            print(
                f"median proxy CPU per request: off {off_cpu:.0f} µs, on {on_cpu:.0f} µs "
                f"-> recording costs {on_cpu - off_cpu:.0f} µs of CPU per request "
                f"({100 * (on_cpu / off_cpu - 1):+.1f}%), whichever thread spends it; "
                f"the writer process {statistics.median(cpu_writer):.0f} µs per request more"
            )
        finally:
            processes["recording"].send_signal(signal.SIGINT)  # a clean stop flushes the queue
            try:
                _, stderr = processes["recording"].communicate(timeout=60)
            except subprocess.TimeoutExpired:
                processes["recording"].kill()
                stderr = ""
            for name in ("plain", "fake"):
                processes[name].terminate()
                processes[name].wait(timeout=10)
        stored = count_records(tierwise, db) - before
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        print(
            f"records stored: {stored} (wrk completed {sent_to_recording}; requests still in "
            f"flight when a run ended are recorded but not counted by wrk) [{last}]"
        )


if __name__ == "__main__":
    main()
