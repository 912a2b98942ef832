"""Scale-out: two proxy processes on different ports recording into one PostgreSQL database.

Each proxy is a real ``tierwise serve`` process; the official SDK sends traffic to both at
once (plain and streamed); after both stop, every request is in the store exactly once and
``tierwise report`` counts the traffic of both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import anthropic

from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, serve_process

PER_PROXY = 40


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
    with (
        FakeAnthropicServer() as fake,
        serve_process("--upstream", fake.url, "--db", pg_url) as first,
        serve_process("--upstream", fake.url, "--db", pg_url) as second,
    ):
        jobs = [(first.url, i) for i in range(PER_PROXY)]
        jobs += [(second.url, PER_PROXY + i) for i in range(PER_PROXY)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            seen = list(pool.map(lambda job: _send(*job), jobs))
    assert first.process.returncode == 0, first.stderr
    assert second.process.returncode == 0, second.stderr

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
