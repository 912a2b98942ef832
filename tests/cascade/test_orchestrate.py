"""Orchestrator-worker against the fake API: plan, retry, concurrency, failures, costs, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tierwise
from tierwise.cli import app
from tierwise.orchestration import PlanError, parse_plan
from tierwise.testing import FakeAnthropicServer

from .conftest import OPUS

PLAN = {
    "subtasks": [
        {"id": "a", "task": "Convert this YAML to JSON: a: 1"},
        {"id": "b", "task": "Write unit tests for the parser"},
        {"id": "c", "task": "Summarize both results", "depends_on": ["a", "b"]},
    ]
}


def test_a_plan_is_validated_with_the_field_named() -> None:
    assert [s.id for s in parse_plan("```json\n" + json.dumps(PLAN) + "\n```", 8).subtasks] == [
        "a",
        "b",
        "c",
    ]
    with pytest.raises(PlanError, match=r"subtasks\.0\.task"):
        parse_plan('{"subtasks": [{"id": "a"}]}', 8)
    with pytest.raises(PlanError, match="cycle"):
        parse_plan('{"subtasks": [{"id": "a", "task": "x", "depends_on": ["a"]}]}', 8)
    with pytest.raises(PlanError, match="over the limit of 2"):
        parse_plan(json.dumps(PLAN), 2)


def test_an_invalid_plan_is_asked_for_again_and_subtasks_run_by_the_policy(
    fake: FakeAnthropicServer,
) -> None:
    fake.script.reply("Sure! Here is my plan: step one...", model=OPUS)  # not JSON
    fake.script.reply(json.dumps(PLAN), model=OPUS)
    result = tierwise.orchestrate(
        "Build a config parser", base_url=fake.url, api_key="k", max_retries=0
    )
    assert [s.name for s in result.steps][:2] == ["plan", "plan retry"]
    assert result.steps[0].error is not None
    assert "invalid" in result.steps[0].error
    assert result.plan is not None
    assert {s.name: s.model for s in result.subtasks} == {
        "a": "claude-haiku-5-5",
        "b": "claude-sonnet-5-5",
        "c": "claude-haiku-5-5",
    }
    c_request = [r for r in fake.log.snapshot() if "Summarize both" in json.dumps(r.body)]
    assert "Result of a" in json.dumps(c_request[0].body)  # dependencies' results passed on
    assert result.steps[-1].name == "synthesis"
    assert result.answer
    assert result.cost == sum(s.cost for s in result.steps)
    assert result.all_opus_cost > result.cost  # cheaper tiers did the work
    for step in result.subtasks:
        assert step.opus_cost > step.cost > 0


def test_a_failed_subtask_is_reported_and_its_dependents_skipped(
    fake: FakeAnthropicServer,
) -> None:
    fake.script.reply(json.dumps(PLAN), model=OPUS)
    fake.script.fail(400, model="claude-sonnet-5-5")  # subtask b
    result = tierwise.orchestrate("Build it", base_url=fake.url, api_key="k", max_retries=0)
    failed = {s.name: s.error for s in result.failed}
    assert set(failed) == {"b", "c"}
    assert "BadRequestError" in (failed["b"] or "")
    assert failed["c"] == "skipped: depends on failed b"
    assert result.steps[-1].name == "synthesis"


def test_the_cli_runs_against_an_upstream_and_needs_a_key_otherwise(
    fake: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    fake.script.reply(json.dumps({"subtasks": [{"id": "x", "task": "Fix the typo"}]}), model=OPUS)
    result = CliRunner().invoke(app, ["orchestrate", "Fix it", "--upstream", fake.url, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["name"] for s in data["steps"]] == ["plan", "x", "synthesis"]
    assert float(data["all_opus_cost_usd"]) > float(data["cost_usd"]) > 0
    result = CliRunner().invoke(app, ["orchestrate", "Fix it"])
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.stderr
