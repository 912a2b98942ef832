"""``tierwise serve``: configuration errors in one line, and a real run in a subprocess."""

from __future__ import annotations

import subprocess
import sys

import anthropic
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.testing import FakeAnthropicServer, serve_process

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


def test_serve_runs_a_working_proxy(fake: FakeAnthropicServer) -> None:
    with serve_process("--upstream", fake.url) as served:
        with anthropic.Anthropic(base_url=served.url, api_key="k", max_retries=0) as client:
            message = client.messages.create(model="auto", max_tokens=20, messages=HELLO)
        assert message.model == fake.log.last.model
    assert "tierwise proxy on http://127.0.0.1:" in served.stderr
    assert served.process.returncode == 0
