"""``tierwise serve``: configuration errors in one line, and a real run in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import anthropic
import httpx
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.testing import FakeAnthropicServer

from .harness import HELLO


def test_a_missing_server_key_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["serve", "--api-key-env", "TIERWISE_TEST_NO_SUCH_VAR"])
    assert result.exit_code == 2
    assert "TIERWISE_TEST_NO_SUCH_VAR is not set" in result.output
    assert "Traceback" not in result.output


def test_the_cli_does_not_import_the_server_stack() -> None:
    heavy = "{'starlette', 'uvicorn', 'httpx'}"
    code = f"import sys, tierwise.cli; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_serve_runs_a_working_proxy(fake: FakeAnthropicServer) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "tierwise.cli", "serve", "--port", str(port)]
    command += ["--upstream", fake.url]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client:
            message = client.messages.create(model="auto", max_tokens=20, messages=HELLO)
        assert message.model == fake.log.last.model
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert "tierwise proxy on http://127.0.0.1:" in stderr
    assert process.returncode == 0
