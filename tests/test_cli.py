"""The ``tierwise`` command: JSON and text output, batch routing, and one clear line per error."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from anthropic.types.model import Model
from typer.testing import CliRunner, Result

from tierwise.analysis.monthly_cost import Workload, estimate_monthly
from tierwise.cli import app
from tierwise.core.catalog import default_catalog
from tierwise.core.policy import default_policy, load_policy
from tierwise.core.recommend import recommend
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier

TIERWISE = Path(sys.executable).with_name("tierwise")
REQUIRED_KEYS = {
    "model",
    "tier",
    "max_tokens",
    "reason",
    "trace",
    "estimated_cost_usd",
    "baseline_model",
    "baseline_cost_usd",
}
# A policy with no keyword rules, so batch and sample results do not depend on keyword tuning.
HINTS_ONLY_POLICY = """
strategies = ["task_type", "user_tier", "default"]
[tiers]
default = "sonnet"
[routes]
small = { tier = "haiku" }
medium = { tier = "sonnet" }
big = { tier = "opus" }
[user_tiers]
free = { ceiling = "haiku" }
"""


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def assert_one_line_error(result: Result) -> str:
    """The command failed cleanly: non-zero exit, one ``error:`` line on stderr, no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:")
    return lines[0]


def jsonl(rows: list[Any]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


@pytest.fixture
def hints_policy(tmp_path: Path) -> Path:
    path = tmp_path / "hints.toml"
    path.write_text(HINTS_ONLY_POLICY, encoding="utf-8")
    return path


# ---------------------------------------------------------------- recommend


def test_recommend_json_prints_one_object_with_the_decision_and_costs() -> None:
    result = ok(run("recommend", "Sort the keys of this file", "--task-type", "format", "--json"))
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    assert data.keys() >= REQUIRED_KEYS
    assert data["tier"] == "haiku"
    assert data["model"] == default_policy().model_for(Tier.HAIKU).id
    assert data["baseline_model"] == default_policy().model_for(Tier.OPUS).id
    assert data["max_tokens"] == default_policy().config.routes["format"].max_tokens
    assert data["trace"][0]["strategy"] == "task_type"
    assert result.stderr == ""


def test_recommend_json_costs_match_the_library() -> None:
    text = "Write unit tests for the date parser"
    result = ok(run("recommend", text, "--task-type", "test", "--output-tokens", "800", "--json"))
    data = json.loads(result.stdout)
    rec = recommend(RouteRequest(text=text, task_type="test"), output_tokens=800)
    assert data["model"] == rec.decision.model
    assert data["output_tokens_assumed"] == 800
    assert data["estimated_cost_usd"] == pytest.approx(float(rec.estimated_cost.total), abs=1e-6)
    assert data["baseline_cost_usd"] == pytest.approx(float(rec.baseline_cost.total), abs=1e-6)


def test_recommend_honours_hints_and_context_size() -> None:
    args = ["recommend", "Tidy this", "--user-tier", "free", "--context-tokens", "5000", "--json"]
    data = json.loads(ok(run(*args)).stdout)
    assert data["tier"] == "haiku"
    assert data["context_tokens"] == 5000
    assert data["input_tokens_estimate"] == 5000


def test_recommend_reads_the_task_from_stdin() -> None:
    data = json.loads(
        ok(run("recommend", "-", "--task-type", "classify", "--json", input="Spam?")).stdout
    )
    assert data["task_type"] == "classify"


def test_recommend_text_mode_shows_the_model_and_the_reason() -> None:
    result = ok(run("recommend", "Sort the keys of this file", "--task-type", "format"))
    model = default_policy().model_for(Tier.HAIKU).id
    assert model in result.stdout
    assert "why:" in result.stdout
    assert "task type 'format' is routed to haiku" in result.stdout
    assert "trace:" in result.stdout


def test_text_that_looks_like_markup_is_shown_verbatim() -> None:
    result = ok(run("recommend", "Tidy this", "--domain", "[bold]web"))
    assert "'[bold]web'" in result.stdout


def test_a_retired_model_in_the_policy_is_a_warning_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "retired.toml"
    path.write_text('extends = "default"\n[tiers]\nhaiku = "claude-3-5-haiku-20241022"\n')
    result = ok(run("recommend", "Sort it", "--task-type", "format", "--policy", str(path)))
    assert "warning:" in result.stderr
    assert "claude-3-5-haiku-20241022" in result.stderr


# ---------------------------------------------------------------- route --batch


def test_route_batch_writes_one_line_per_row_in_order(tmp_path: Path, hints_policy: Path) -> None:
    rows = [
        {"id": "z-last", "prompt": "Sort the keys", "task_type": "small"},
        {"id": 7, "prompt": "Add an endpoint", "task_type": "medium"},
        {"id": "a-first", "prompt": "Design the sharding", "task_type": "big"},
        {"id": "free", "prompt": "Design it", "task_type": "big", "user_tier": "free"},
        {"prompt": "No id here"},
    ]
    batch = tmp_path / "rows.jsonl"
    batch.write_text(jsonl(rows), encoding="utf-8")
    result = ok(run("route", "--batch", str(batch), "--policy", str(hints_policy)))
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in out] == ["z-last", 7, "a-first", "free", 5]
    assert [row["tier"] for row in out] == ["haiku", "sonnet", "opus", "haiku", "sonnet"]
    policy = load_policy(hints_policy)
    for row in out:
        assert row.keys() >= {"id", "model", "tier", "reason"}
        assert row["model"] == policy.model_for(Tier(row["tier"])).id
        assert row["reason"]


def test_route_batch_reads_stdin(hints_policy: Path) -> None:
    rows = [{"id": "one", "prompt": "x", "task_type": "small"}, {"id": "two", "prompt": "y"}]
    result = ok(run("route", "--batch", "-", "--policy", str(hints_policy), input=jsonl(rows)))
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(row["id"], row["tier"]) for row in out] == [("one", "haiku"), ("two", "sonnet")]


def test_route_batch_skips_blank_lines(hints_policy: Path) -> None:
    text = '{"id": 1, "prompt": "x"}\n\n   \n{"id": 2, "prompt": "y"}\n'
    result = ok(run("route", "--batch", "-", "--policy", str(hints_policy), input=text))
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1, 2]


def test_route_batch_bad_rows_get_an_error_line_and_the_rest_are_routed(
    hints_policy: Path,
) -> None:
    rows: list[Any] = [
        {"id": "good-1", "prompt": "Sort it", "task_type": "small"},
        {"id": "no-prompt", "task_type": "small"},
        {"id": "empty", "prompt": "   "},
        {"id": "not-text", "prompt": 42},
        {"id": "bad-type", "prompt": "x", "task_type": "poetry"},
        ["not", "an", "object"],
        {"id": "good-2", "prompt": "Design it", "task_type": "big"},
    ]
    result = run("route", "--batch", "-", "--policy", str(hints_policy), input=jsonl(rows))
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in out] == [
        "good-1",
        "no-prompt",
        "empty",
        "not-text",
        "bad-type",
        6,
        "good-2",
    ]
    errors = {row["id"]: row["error"] for row in out if "error" in row}
    assert set(errors) == {"no-prompt", "empty", "not-text", "bad-type", 6}
    assert "prompt" in errors["no-prompt"]
    assert "empty" in errors["empty"]
    assert "poetry" in errors["bad-type"]
    assert out[0]["tier"] == "haiku"
    assert out[-1]["tier"] == "opus"
    assert "error:" in result.stderr
    assert "5 row(s)" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# ---------------------------------------------------------------- models


def sdk_model_ids() -> tuple[str, ...]:
    literal = next(a for a in typing.get_args(Model) if typing.get_origin(a) is typing.Literal)
    ids = typing.get_args(literal)
    assert ids
    return ids


def listed(rows: list[dict[str, Any]]) -> set[str]:
    return {row["id"] for row in rows} | {alias for row in rows for alias in row["aliases"]}


def test_models_all_json_lists_every_sdk_model_id() -> None:
    rows = json.loads(ok(run("models", "--all", "--json")).stdout)
    missing = set(sdk_model_ids()) - listed(rows)
    assert not missing


def test_models_json_lists_every_sdk_model_the_api_still_serves() -> None:
    rows = json.loads(ok(run("models", "--json")).stdout)
    catalog = default_catalog()
    served = {i for i in sdk_model_ids() if catalog.get(i).lifecycle.value != "retired"}
    assert served
    assert not served - listed(rows)
    assert all(row["lifecycle"] != "retired" for row in rows)
    row = next(r for r in rows if r["id"] == "claude-haiku-5-5")
    assert row["line"] == "haiku"
    assert Decimal(str(row["prices"]["input"])) == catalog.get("claude-haiku-5-5").prices.input


def test_models_without_json_prints_a_table() -> None:
    result = ok(run("models"))
    assert "tierwise model catalog" in result.stdout


# ---------------------------------------------------------------- cost


def test_cost_with_a_mix_matches_the_calculator() -> None:
    args = ["cost", "--mix", "haiku=0.5,sonnet=0.3,opus=0.2", "--json"]
    args += ["--requests-per-day", "100", "--input-tokens", "1000", "--output-tokens", "100"]
    data = json.loads(ok(run(*args)).stdout)
    workload = Workload(requests_per_day=Decimal(100), input_tokens=1000, output_tokens=100)
    mix = {Tier.HAIKU: Decimal("0.5"), Tier.SONNET: Decimal("0.3"), Tier.OPUS: Decimal("0.2")}
    estimate = estimate_monthly(workload, mix, default_policy())
    assert data["mix"] == {"haiku": 0.5, "sonnet": 0.3, "opus": 0.2}
    assert data["monthly_routed_usd"] == pytest.approx(float(estimate.routed), abs=0.005)
    for tier, amount in estimate.per_tier.items():
        assert data["monthly_by_tier_usd"][tier.value] == pytest.approx(float(amount), abs=0.005)
    savings = estimate.savings_against(Tier.OPUS)
    assert savings is not None
    assert data["savings_vs"]["opus"] == pytest.approx(float(savings), abs=1e-4)
    assert data["advice"] == estimate.advice(Tier.OPUS)


def test_cost_text_mode_shows_the_scenarios() -> None:
    result = ok(run("cost", "--mix", "haiku=0.5,sonnet=0.5"))
    assert "routed" in result.stdout
    assert "all opus" in result.stdout


def test_cost_sample_measures_the_mix_by_routing(tmp_path: Path, hints_policy: Path) -> None:
    rows = [
        {"prompt": "a", "task_type": "small"},
        {"prompt": "b", "task_type": "small"},
        {"prompt": "c", "task_type": "medium"},
        {"prompt": "d", "task_type": "big"},
    ]
    sample = tmp_path / "sample.jsonl"
    sample.write_text(jsonl(rows), encoding="utf-8")
    args = ["cost", "--sample", str(sample), "--policy", str(hints_policy), "--json"]
    data = json.loads(ok(run(*args)).stdout)
    assert data["mix"] == {"haiku": 0.5, "sonnet": 0.25, "opus": 0.25}


def test_cost_refuses_both_mix_and_sample(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text(jsonl([{"prompt": "a"}]), encoding="utf-8")
    line = assert_one_line_error(run("cost", "--mix", "haiku=1", "--sample", str(sample)))
    assert "not both" in line


# ---------------------------------------------------------------- bad input


@pytest.fixture
def bad_model_policy(tmp_path: Path) -> Path:
    path = tmp_path / "bad-model.toml"
    path.write_text('extends = "default"\n[tiers]\nopus = "claude-opus-9"\n', encoding="utf-8")
    return path


@pytest.fixture
def invalid_toml_policy(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text("[tiers\nhaiku = 1\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["recommend", ""], "empty"),
        (["recommend", "   "], "empty"),
        (["recommend", "x", "--task-type", "poetry"], "unknown task type 'poetry'"),
        (["recommend", "x", "--user-tier", "platinum"], "unknown user tier 'platinum'"),
        (["recommend", "x", "--context-tokens", "-1"], "--context-tokens"),
        (["recommend", "x", "--output-tokens", "-1"], "output_tokens"),
        (["recommend", "x", "--task-type", "[/red]"], "[/red]"),
        (["cost", "--mix", "haiku=lots"], "--mix"),
        (["cost", "--mix", "haiku"], "--mix"),
        (["cost", "--mix", "gpt=1"], "unknown tier 'gpt'"),
        (["cost", "--mix", "haiku=0.5,sonnet=0.2"], "add up to 1"),
        (["cost", "--mix", "haiku=-1,opus=2"], "between 0 and 1"),
        (["cost", "--mix", "haiku=nan,opus=1"], "between 0 and 1"),
        (["cost", "--cache-hit", "1.5"], "cache-hit"),
        (["cost", "--cache-hit", "nan"], "cache-hit"),
        (["cost", "--batch-share", "-0.5"], "batch share"),
        (["cost", "--requests-per-day", "-10"], "requests per day"),
        (["cost", "--requests-per-day", "inf"], "requests per day"),
        (["cost", "--input-tokens", "-1"], "negative"),
        (["route", "--batch", "/nonexistent/rows.jsonl"], "cannot read"),
    ],
)
def test_bad_input_is_one_error_line(args: list[str], expected: str) -> None:
    line = assert_one_line_error(run(*args))
    assert expected in line


def test_a_policy_naming_a_model_not_in_the_catalog(bad_model_policy: Path) -> None:
    line = assert_one_line_error(run("recommend", "x", "--policy", str(bad_model_policy)))
    assert str(bad_model_policy) in line
    assert "claude-opus-9" in line


def test_an_invalid_toml_policy(invalid_toml_policy: Path) -> None:
    line = assert_one_line_error(run("recommend", "x", "--policy", str(invalid_toml_policy)))
    assert str(invalid_toml_policy) in line
    assert "TOML" in line


def test_an_invalid_json_line_gets_an_error_line_like_a_bad_row(tmp_path: Path) -> None:
    batch = tmp_path / "rows.jsonl"
    batch.write_text('{"prompt": "ok"}\n{not json}\n{"prompt": "also ok"}\n', encoding="utf-8")
    result = run("route", "--batch", str(batch))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == [1, 2, 3]
    assert ":2: not valid JSON" in rows[1]["error"]
    assert "model" in rows[0]
    assert "model" in rows[2]
    assert "1 row(s) could not be routed" in result.stderr


def test_an_empty_sample_file(tmp_path: Path) -> None:
    sample = tmp_path / "empty.jsonl"
    sample.write_text("\n", encoding="utf-8")
    line = assert_one_line_error(run("cost", "--sample", str(sample)))
    assert "no prompts" in line


def test_a_10_mb_prompt_on_stdin_is_refused() -> None:
    limit = default_policy().config.limits.max_prompt_chars
    prompt = "a" * 10_000_000
    assert len(prompt) > limit
    line = assert_one_line_error(run("recommend", "-", "--json", input=prompt))
    assert "over the limit" in line


# ---------------------------------------------------------------- the installed command


def test_installed_command_routes_and_fails_cleanly() -> None:
    assert TIERWISE.exists()
    good = subprocess.run(
        [str(TIERWISE), "recommend", "Sort the keys", "--task-type", "format", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["tier"] == "haiku"
    bad = subprocess.run(
        [str(TIERWISE), "recommend", "-", "--task-type", "poetry"],
        input="Write a poem",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0
    assert bad.stderr.startswith("error:")
    assert len(bad.stderr.splitlines()) == 1
    assert "Traceback" not in bad.stdout + bad.stderr
