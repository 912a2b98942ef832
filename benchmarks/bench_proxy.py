"""The proxy against the fake upstream called directly, in the same run, with ``wrk`` as the load.

Three processes: the fake Anthropic API (``tierwise fake-anthropic``), the proxy (``tierwise
serve``, one worker) in front of it, and ``wrk``. For concurrency 1, 32 and 128, streaming and
not, it measures requests/s and latency percentiles direct and through the proxy, and prints
the proxy's added latency (p50 at each concurrency, p99 too) and the throughput ratio.

    make bench-proxy            # installs wrk (Debian) if missing, then runs this
    python benchmarks/bench_proxy.py [--seconds 5]

On a shared 2-core machine the three processes compete for the cores, so the absolute
numbers move from run to run; the direct figures measured in the same run are the baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROMPT = 'Reformat this JSON with 2-space indentation: {"a": 1, "b": [1, 2]}'
CONCURRENCY = (1, 32, 128)
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Run:
    """One wrk run: requests per second and latency percentiles in milliseconds."""

    rps: float
    p50: float
    p99: float
    errors: int  # non-2xx responses
    requests: int = 0  # completed within the run
    socket_errors: int = 0  # connect, read, write and timeout errors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def lua_script(model: str, stream: bool, directory: Path) -> Path:
    body = {
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    path = directory / f"{model}-{int(stream)}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["content-type"] = "application/json"\n'
        'wrk.headers["anthropic-version"] = "2023-06-01"\n'
        'wrk.headers["x-api-key"] = "bench-key"\n'
    )
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
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    done = re.search(r"(\d+) requests in", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Run(
        rps=float(rps.group(1)) if rps else 0.0,
        p50=latency("50%"),
        p99=latency("99%"),
        errors=int(errors.group(1)) if errors else 0,
        requests=int(done.group(1)) if done else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench-proxy` installs it (apt-get install wrk)")
    tierwise = str(Path(sys.executable).with_name("tierwise"))
    fake_port, proxy_port = free_port(), free_port()
    processes = [
        subprocess.Popen(
            [tierwise, "fake-anthropic", "--port", str(fake_port)], stderr=subprocess.DEVNULL
        ),
        subprocess.Popen(
            [
                tierwise,
                "serve",
                "--no-record",  # the proxy alone; recording's cost is measured separately
                "--port",
                str(proxy_port),
                "--upstream",
                f"http://127.0.0.1:{fake_port}",
            ],
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_for(fake_port)
        wait_for(proxy_port)
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            print(
                f"{'mode':<10}{'conc':>5} {'direct rps':>11} {'proxy rps':>10} {'ratio':>6} "
                f"{'direct p50':>11} {'proxy p50':>10} {'added p50':>10} {'added p99':>10}"
            )
            for stream in (False, True):
                direct_script = lua_script("claude-haiku-5-5", stream, directory)
                proxy_script = lua_script("auto", stream, directory)
                for connections in CONCURRENCY:
                    direct = wrk(
                        f"http://127.0.0.1:{fake_port}/v1/messages",
                        direct_script,
                        connections,
                        args.seconds,
                    )
                    proxied = wrk(
                        f"http://127.0.0.1:{proxy_port}/v1/messages",
                        proxy_script,
                        connections,
                        args.seconds,
                    )
                    errors = direct.errors + proxied.errors
                    ratio = proxied.rps / direct.rps
                    print(
                        f"{'stream' if stream else 'json':<10}{connections:>5} "
                        f"{direct.rps:>11.0f} {proxied.rps:>10.0f} {ratio:>6.2f} "
                        f"{direct.p50:>9.2f}ms {proxied.p50:>8.2f}ms "
                        f"{proxied.p50 - direct.p50:>8.2f}ms {proxied.p99 - direct.p99:>8.2f}ms"
                        + (f"  ({errors} non-2xx!)" if errors else "")
                    )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
