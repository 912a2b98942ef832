"""A real ``tierwise serve`` process stopped by a real signal with streams in flight: every
response completes, every completed response is recorded, and the process exits 0 (SIGTERM is
what systemd, ``docker stop`` and Kubernetes send; SIGINT is Ctrl-C)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import anthropic
import pytest

from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, Reply, serve_process

IN_FLIGHT = 10
LATENCY = 1.0  # the fake's time to first byte: long enough for the signal to land mid-request


def _stream(url: str, done: list[str]) -> None:
    with (
        anthropic.Anthropic(base_url=url, api_key="sk-ant-test", max_retries=0) as client,
        client.messages.stream(
            model="auto", max_tokens=16, messages=[{"role": "user", "content": "Fix the typo"}]
        ) as stream,
    ):
        text = stream.get_final_text()
    done.append(text)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_drains_in_flight_streams_and_records_them(
    signum: signal.Signals, tmp_path: Path
) -> None:
    db = tmp_path / "records.db"
    done: list[str] = []
    with FakeAnthropicServer() as fake:
        fake.script.set_default(Reply(latency=LATENCY))
        with serve_process("--upstream", fake.url, "--db", str(db)) as served:
            threads = [
                threading.Thread(target=_stream, args=(served.url, done)) for _ in range(IN_FLIGHT)
            ]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while len(fake.log.snapshot()) < IN_FLIGHT and time.monotonic() < deadline:
                time.sleep(0.01)  # every request has reached the upstream: all are in flight
            assert len(fake.log.snapshot()) == IN_FLIGHT
            served.process.send_signal(signum)
            for thread in threads:
                thread.join(timeout=30)
            served.process.wait(timeout=30)
    assert served.process.returncode == 0, served.stderr
    assert len(done) == IN_FLIGHT
    with Store(f"sqlite:///{db}") as store:
        assert store.count() == len(done)
