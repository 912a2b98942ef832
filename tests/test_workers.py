"""``tierwise serve --workers 2``: two processes on one port and one store; every request is
recorded once, both workers serve, and SIGTERM to the parent drains and flushes them all."""

from __future__ import annotations

import re
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic

from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, Reply, serve_process

REQUESTS = 40


def _children(pid: int) -> set[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(line) for line in found.stdout.split()}


def test_two_workers_share_the_port_and_the_store(tmp_path: Path) -> None:
    db = tmp_path / "records.db"
    with FakeAnthropicServer() as fake:
        fake.script.set_default(Reply(latency=0.05))  # overlapping requests reach both workers
        with serve_process("--upstream", fake.url, "--db", str(db), "--workers", "2") as served:
            workers = _children(served.process.pid)
            assert len(workers) == 2

            def ask(index: int) -> str:
                with anthropic.Anthropic(base_url=served.url, api_key="k", max_retries=0) as c:
                    raw = c.messages.with_raw_response.create(
                        model="auto",
                        max_tokens=8,
                        messages=[{"role": "user", "content": f"Fix typo number {index}"}],
                    )
                    return raw.headers["x-tierwise-request-id"]

            with ThreadPoolExecutor(max_workers=8) as pool:
                ids = list(pool.map(ask, range(REQUESTS)))
            served.process.send_signal(signal.SIGTERM)
            served.process.wait(timeout=60)
    assert served.process.returncode == 0, served.stderr
    flushed = re.findall(r"recorded (\d+) decision", served.stderr)
    assert len(flushed) == 2  # each worker flushed and said so
    assert sum(int(count) for count in flushed) == REQUESTS
    with Store(f"sqlite:///{db}") as store:
        stored = [record.request_id for record in store.records()]
    assert sorted(stored) == sorted(ids)
