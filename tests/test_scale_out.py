"""Scale-out: two proxy processes on different ports recording into one PostgreSQL database.

Each proxy is a real ``tierwise serve`` process; the official SDK sends traffic to both at
once (plain and streamed); after both stop, every request is in the store exactly once and
``tierwise report`` counts the traffic of both.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import anthropic
import httpx

from tierwise.store import Store
from tierwise.testing import FakeAnthropicServer

PER_PROXY = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def _proxy(upstream: str, db: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A ``tierwise serve`` process recording to ``db``; stopped with SIGINT (a clean stop)."""
    port = _free_port()
    command = [sys.executable, "-m", "tierwise.cli", "serve", "--port", str(port)]
    command += ["--upstream", upstream, "--db", db]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def _send(url: str, index: int) -> str:
    """One request through the proxy at ``url``; returns the ``x-tierwise-request-id`` the
    caller got back (the key of the request's record)."""
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client:
        messages: list[anthropic.types.MessageParam] = [
            {"role": "user", "content": f'Reformat this JSON, request {index}: {{"a": 1}}'}
        ]
        if index % 4 == 0:
            with client.messages.stream(model="auto", max_tokens=32, messages=messages) as stream:
                stream.get_final_message()
                headers = stream.response.headers
        else:
            raw = client.messages.with_raw_response.create(
                model="auto", max_tokens=32, messages=messages
            )
            raw.parse()
            headers = raw.headers
    request_id = headers.get("x-tierwise-request-id")
    assert request_id is not None
    assert request_id.startswith("req_tierwise_")
    return request_id


def test_two_proxies_share_one_postgresql_store(pg_url: str) -> None:
    with FakeAnthropicServer() as fake, _proxy(fake.url, pg_url) as (first, first_process):
        with _proxy(fake.url, pg_url) as (second, second_process):
            jobs = [(first, i) for i in range(PER_PROXY)] + [
                (second, PER_PROXY + i) for i in range(PER_PROXY)
            ]
            with ThreadPoolExecutor(max_workers=8) as pool:
                seen = list(pool.map(lambda job: _send(*job), jobs))
        assert second_process.returncode == 0
    assert first_process.returncode == 0

    with Store(pg_url) as store:
        records = store.records()
    stored_ids = [record.request_id for record in records]
    assert len(stored_ids) == len(set(stored_ids)) == 2 * PER_PROXY  # every one, once
    assert set(stored_ids) == set(seen)
    assert sum(record.stream for record in records) == 2 * len(range(0, PER_PROXY, 4))

    report = subprocess.run(
        [sys.executable, "-m", "tierwise.cli", "report", "--db", pg_url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    totals = json.loads(report.stdout)["totals"]
    assert totals["requests"] == 2 * PER_PROXY
    expected_cost = sum(record.cost_micro_usd or 0 for record in records)
    assert round(float(totals["cost_usd"]) * 1_000_000) == expected_cost
