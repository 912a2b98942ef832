"""Upstream timeouts from the command line and the policy: a silent upstream is cut off after the
configured read timeout (an Anthropic-shaped 504), not held for the default ten minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tierwise.testing import FakeAnthropicServer, Reply, serve_process

SILENT = 30.0  # the fake's answer time: far beyond the timeouts below
BODY = {
    "model": "claude-haiku-5-5",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "hi"}],
}
HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


def _through(options: list[str], fake: FakeAnthropicServer) -> httpx.Response:
    with serve_process("--upstream", fake.url, "--no-record", *options) as served:
        return httpx.post(f"{served.url}/v1/messages", json=BODY, headers=HEADERS, timeout=SILENT)


@pytest.mark.parametrize("where", ["command line", "policy"])
def test_a_silent_upstream_is_cut_off_by_the_read_timeout(where: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('extends = "default"\n[proxy]\nread_timeout = 0.3\n')
    options = ["--read-timeout", "0.3"] if where == "command line" else ["--policy", str(policy)]
    with FakeAnthropicServer() as fake:
        fake.script.set_default(Reply(latency=SILENT))
        response = _through(options, fake)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout_error"


def test_a_timeout_that_is_not_positive_is_one_line_at_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tierwise.cli", "serve", "--read-timeout", "0", "--no-record"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--read-timeout must be a positive number of seconds" in done.stderr
    assert "Traceback" not in done.stderr
