"""The ``eval``, ``train``, ``calibrate`` and ``route --batch --router`` commands end to end on
synthetic data in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluation.synthetic import write_dataset
from tierwise.cli import app
from tierwise.core.policy import load_policy

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_dataset(tmp_path, "toy2", rows=90)
    write_dataset(tmp_path, "toy3", rows=90, tiers=3)
    monkeypatch.setenv("TIERWISE_EVAL_DATA", str(tmp_path))
    return tmp_path


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_eval_policy_json_has_router_and_baselines(data: Path) -> None:
    report = json.loads(_invoke("eval", "toy2", "toy3", "--json", "--plot", str(data / "p.html")))
    assert [r["dataset"] for r in report] == ["toy2", "toy3"]
    two, three = report
    assert set(two["baselines"]) == {"random", "always-cheapest", "always-top", "oracle"}
    assert "always-sonnet" in three["baselines"]
    oracle = two["baselines"]["oracle"]
    assert oracle["point"]["quality"] == 1.0
    assert oracle["point"]["tier_mix"]["opus"] == 0.3333
    assert two["baselines"]["always-top"]["point"]["savings"] == 0.0
    assert two["router"]["name"].startswith("policy")
    assert "<svg" in (data / "p.html").read_text()


def test_train_cv_then_eval_and_calibrate_the_router(data: Path) -> None:
    router = data / "router.json"
    cv = json.loads(_invoke("train", "toy2", "--cv", "3", "--json", "-o", str(router)))
    # the word "prove" separates the rows perfectly: as good as the oracle (PGR 0→1 over the
    # first third of the rows, then flat: 1/6 + 2/3)
    assert (
        cv[0]["router"]["apgr"]
        == cv[0]["baselines"]["oracle"]["apgr"]
        == pytest.approx(5 / 6, abs=1e-3)
    )
    assert cv[0]["baselines"]["random"]["apgr"] == pytest.approx(0.5, abs=0.1)
    report = json.loads(_invoke("eval", "toy2", "--router", str(router), "--json"))
    assert report[0]["router"]["point"]["retention"] == 1.0
    assert report[0]["router"]["savings_at_retention"]["95%"] > 0.5
    policy = data / "policy.toml"
    result = json.loads(
        _invoke(
            "calibrate",
            "toy2",
            "--router",
            str(router),
            "--target",
            "retention=0.95",
            "-o",
            str(policy),
            "--json",
        )
    )
    assert result["met"]
    assert result["retention"]["value"] >= 0.95
    assert result["rows"] == 18  # the 72 rows train fitted are left out; its held-out 18 stay
    loaded = load_policy(policy)
    assert "learned" in loaded.config.strategies
    assert set(loaded.config.learned.thresholds) == {"haiku"}
    assert Path(loaded.config.learned.router or "").is_absolute()  # works from any folder
    refused = runner.invoke(
        app, ["calibrate", "toy2", "--router", str(router), "--target", "retention=0.9",
              "--allow-train-rows", "--json"]
    )  # fmt: skip
    assert refused.exit_code == 0
    assert "trained on" in refused.stderr
    assert json.loads(refused.stdout)["rows"] == 90


def test_route_batch_with_router_writes_tier_model_and_score(data: Path) -> None:
    router = data / "router.json"
    _invoke("train", "toy2", "-o", str(router))
    rows = data / "rows.jsonl"
    rows.write_text(
        '{"id": "a", "prompt": "sort a list please"}\n'
        '{"id": "b", "prompt": "sort a list and prove it is optimal", "category": "math"}\n'
    )
    lines = [
        json.loads(x)
        for x in _invoke("route", "--batch", str(rows), "--router", str(router)).splitlines()
    ]
    assert [x["tier"] for x in lines] == ["haiku", "opus"]
    assert lines[0]["model"].startswith("claude-haiku")
    assert 0 <= lines[0]["score"] < 0.5 < lines[1]["score"] <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "nope"], "no such file"),
        (["eval", "toy2", "--policy", "a.toml", "--router", "b.json"], "not both"),
        (["train", "toy2"], "-o FILE"),
        (
            ["calibrate", "toy2", "--router", "missing.json", "--target", "retention=0.9"],
            "missing.json",
        ),
        (["eval", "toy2", "--plot", "out.gif"], "--plot"),
    ],
)
def test_bad_input_is_one_clear_line(data: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_png_plot(data: Path) -> None:
    pytest.importorskip("matplotlib", reason="PNG plots need the plot extra (matplotlib)")
    _invoke("eval", "toy3", "--plot", str(data / "p.png"), "--json")
    assert (data / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
