"""The real Claude Code CLI (pinned 2.1.332) through ``tierwise serve`` to the fake API.

``.ci/run`` installs the CLI outside the repository and passes its path in
``TIERWISE_CLAUDE_CODE_BIN``; without the binary these tests skip, saying so. Each run uses the
environment FINDINGS.md settled on: a fresh HOME, no telemetry or other nonessential traffic,
``IS_SANDBOX=1``, and ``--allowedTools`` instead of permission prompts. What is asserted is what
tierwise promises, not routing quality: the CLI exits 0, every call it made reached the fake
with the model tierwise recorded for it, there is one record per call, and the model id the
README recommends draws no "doesn't recognize the model" warning.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, RecordedRequest, Reply, serve_process

CLI_VERSION = "2.1.332"
DEFAULT_BIN = (
    Path.home() / ".cache" / "tierwise" / "claude-code" / "node_modules" / ".bin" / "claude"
)
ALIAS = "tierwise-claude-sonnet-4-6"  # contains a catalog id: 200K window, no warning
UNRECOGNIZED = "doesn't recognize the model"
API_KEY = "sk-ant-test-0000000000000000"  # >= 20 characters, as the CLI wants
TOOLS = "Bash Read Edit"
UTILS = "def total(items):\n    x = 0\n    for item in items:\n        x += item\n    return x\n"


def _binary() -> Path | None:
    configured = os.environ.get("TIERWISE_CLAUDE_CODE_BIN")
    candidate = Path(configured) if configured else DEFAULT_BIN
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


CLAUDE = _binary()
pytestmark = [
    pytest.mark.skipif(
        CLAUDE is None,
        reason=f"the Claude Code CLI {CLI_VERSION} is not installed: .ci/run installs it "
        "(or set TIERWISE_CLAUDE_CODE_BIN to its claude binary)",
    ),
    pytest.mark.timeout(300),
]


@dataclass
class Run:
    """One ``claude -p`` run: its result, the calls the fake got, and the proxy's records."""

    returncode: int
    stdout: str
    stderr: str
    requests: list[RecordedRequest]
    records: list[DecisionRecord]
    seconds: float


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


def run_claude(
    fake: FakeAnthropicServer,
    tmp_path: Path,
    prompt: str,
    model: str = ALIAS,
    extra_env: dict[str, str] | None = None,
) -> Run:
    """``claude -p PROMPT --model MODEL`` in a fresh HOME and project, through a fresh proxy."""
    assert CLAUDE is not None
    fake.log.clear()
    home, project, db = tmp_path / "home", tmp_path / "project", tmp_path / "tierwise.db"
    home.mkdir(parents=True)
    project.mkdir(parents=True)
    (project / "utils.py").write_text(UTILS)
    started = time.monotonic()
    with serve_process("--upstream", fake.url, "--db", str(db)) as proxy:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(home),
            "TERM": "dumb",
            "ANTHROPIC_BASE_URL": proxy.url,
            "ANTHROPIC_API_KEY": API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_BUG_COMMAND": "1",
            "IS_SANDBOX": "1",
            **(extra_env or {}),
        }
        command = [str(CLAUDE), "-p", prompt, "--model", model, "--allowedTools", TOOLS]
        result = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=240
        )
    seconds = time.monotonic() - started
    with Store(str(db)) as store:
        records = list(store.records())
    return Run(
        result.returncode, result.stdout, result.stderr, fake.log.messages(), records, seconds
    )


def assert_routed_and_recorded(run: Run, alias: str = ALIAS) -> None:
    assert run.returncode == 0, f"claude exited {run.returncode}: {run.stderr[-2000:]}"
    assert run.requests, "the CLI made no call"
    for request in run.requests:
        assert request.query == "beta=true"
        assert request.headers["user-agent"].startswith(f"claude-cli/{CLI_VERSION}")
    assert len(run.records) == len(run.requests), "one record per call"
    for record in run.records:
        assert record.requested_model == alias
        assert record.routed
        assert record.status == 200
    served = sorted(str(record.served_model) for record in run.records)
    assert served == sorted(str(r.model) for r in run.requests), "the fake got tierwise's choice"


@pytest.mark.parametrize(
    "prompt",
    [
        "Rename the variable x to count in utils.py",
        "Add a feature to utils.py: an average(items) function with a docstring and tests",
        "Find and fix the race condition between the cache invalidation in store.py and the "
        "worker pool in jobs.py; the scheduler module shares the lock across modules",
    ],
    ids=["rename", "feature", "cross-module-race"],
)
def test_claude_code_tasks_are_routed_and_recorded(
    prompt: str, fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.clear()
    run = run_claude(fake, tmp_path, prompt)
    assert_routed_and_recorded(run)
    tiers = {record.chosen_tier for record in run.records}
    assert tiers <= {"haiku", "sonnet", "opus"}
    # routing reads the person's words, not Claude Code's reminders and system prompt
    expected = {"Rename": "haiku", "Find and fix the race": "opus"}
    for start, tier in expected.items():
        if prompt.startswith(start):
            assert tiers == {tier}, run.records[0].reason
    assert UNRECOGNIZED not in run.stderr + run.stdout


def test_a_tool_loop_goes_through_and_every_turn_is_recorded(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.clear()
    tool_use = {"type": "tool_use", "name": "Bash", "input": {"command": "echo hi"}}
    fake.script.push(Reply(content=[tool_use]), Reply(text="The command printed hi."))
    run = run_claude(fake, tmp_path, "Run echo hi in the shell and tell me what it printed")
    assert_routed_and_recorded(run)
    assert len(run.requests) == 2, [r.body["messages"][-1] for r in run.requests]
    last = run.requests[1].body["messages"][-1]
    results = [b for b in last["content"] if b.get("type") == "tool_result"]
    assert results, "the second call carries the tool result"
    assert "hi" in str(results[0].get("content"))
    assert "The command printed hi." in run.stdout


def test_the_recommended_alias_draws_no_unknown_model_warning(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.clear()
    recommended = run_claude(fake, tmp_path / "a", "Say hi", ALIAS)
    assert_routed_and_recorded(recommended)
    assert UNRECOGNIZED not in recommended.stderr
    assert "unrecognized_model" not in recommended.stderr
    unknown = run_claude(fake, tmp_path / "b", "Say hi", "tierwise-auto")
    assert_routed_and_recorded(unknown, "tierwise-auto")
    assert UNRECOGNIZED in unknown.stderr + unknown.stdout, "the check can see the warning"


def test_gateway_model_discovery_lists_the_aliases(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    """With discovery on, the CLI reads the proxy's ``GET /v1/models`` (served by tierwise, not
    forwarded) and caches the ids it keeps (those containing "claude") for its /model picker."""
    fake.script.clear()
    discovery = {"CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"}
    run = run_claude(fake, tmp_path, "Say hi", ALIAS, discovery)
    assert_routed_and_recorded(run)
    cache = tmp_path / "home" / ".claude" / "cache" / "gateway-models.json"
    assert cache.is_file(), sorted(str(p) for p in (tmp_path / "home").rglob("*"))
    listed = cache.read_text()
    for alias in ("tierwise-claude-sonnet-4-6", "tierwise-claude-haiku-4-5"):
        assert alias in listed
    assert not [r for r in fake.log if r.path.startswith("/v1/models")]


def test_the_cli_is_the_pinned_version() -> None:
    assert CLAUDE is not None
    result = subprocess.run([str(CLAUDE), "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith(CLI_VERSION), result.stdout
