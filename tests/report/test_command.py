"""``tierwise report`` through typer's runner: JSON, tables, alerts, errors, the HTML page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.ledger.store import Store

from .conftest import T0, UNTIL

PERIOD = ["--since", T0.date().isoformat(), "--until", UNTIL.date().isoformat()]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["report", *args], env={"COLUMNS": "200"})  # no wrapping
    return result.exit_code, result.stdout, result.stderr


def test_json(hand_store: Store, sqlite_path: str) -> None:
    code, out, _ = run("--db", sqlite_path, *PERIOD, "--by", "tier", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["totals"]["requests"] == 5
    assert data["totals"]["savings_usd"] == "0.033000"
    assert [g["key"] for g in data["groups"]] == ["haiku", "sonnet", None]


def test_table_shows_the_measures_and_alerts_first(hand_store: Store, sqlite_path: str) -> None:
    code, out, _ = run("--db", sqlite_path, *PERIOD, "--by", "model")
    assert code == 0, out
    for text in (
        "5 (4 routed, 1 errors)",
        "$0.003000 routed vs $0.011250 on the baseline",
        "saved $0.0330 (73.3%)",
        "$0.22 vs $0.83 on the baseline",
        "90.0% of the baseline's (2 scored)",
        "25.0% (1 of 4 routed)",
        "p50 2.50 ms · p95 3.85 ms · p99 3.97 ms",
        "by model",
        "claude-haiku-4-5",
    ):
        assert text in out, text
    alert = out.index("ALERT escalation rate 25.0% (alert above 20%)")
    assert "ALERT quality" in out
    assert alert < out.index("cost per task")  # seen before any table
    assert "ok routing overhead p95 3.85 ms" in out


def test_thresholds_from_options(hand_store: Store, sqlite_path: str) -> None:
    code, out, _ = run(
        "--db", sqlite_path, *PERIOD, "--json",
        "--alert-quality-drop", "0.2", "--alert-escalation-rate", "0.5",
        "--alert-overhead-ms", "1",
    )  # fmt: skip
    assert code == 0, out
    firing = {a["name"]: a["firing"] for a in json.loads(out)["alerts"]}
    assert firing == {"quality_drop": False, "escalation_rate": False, "routing_overhead": True}


def test_store_from_the_environment(
    hand_store: Store, sqlite_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERWISE_DATABASE_URL", sqlite_path)
    code, out, _ = run("--since", "all", "--until", UNTIL.isoformat(), "--json")
    assert code == 0, out
    assert json.loads(out)["totals"]["requests"] == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "3x"], "error: --since: '3x' is neither a duration"),
        (["--until", "soon"], "error: --until: 'soon' is neither a duration"),
        (["--by", "colour"], "error: --by: unknown breakdown 'colour'; choose one of model,"),
        (["--alert-quality-drop", "1.5"], "error: --alert-quality-drop must be between 0 and 1"),
        (["--alert-overhead-ms", "-1"], "error: --alert-overhead-ms must not be negative"),
        (["--since", "2026-11-03", "--until", "2026-11-01"], "must be before --until"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    sqlite_store: Store, sqlite_path: str, args: list[str], message: str
) -> None:
    code, out, err = run("--db", sqlite_path, *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_empty_store(sqlite_store: Store, sqlite_path: str) -> None:
    code, out, _ = run("--db", sqlite_path)
    assert code == 0, out
    assert "no records in this period" in out
    code, out, _ = run("--db", sqlite_path, "--json", "--by", "day")
    assert code == 0
    data = json.loads(out)
    assert (data["totals"]["requests"], data["groups"]) == (0, [])


def test_html_writes_the_dashboard_page(
    hand_store: Store, sqlite_path: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    code, out, _ = run("--db", sqlite_path, *PERIOD, "--html", str(page))
    assert code == 0, out
    assert f"dashboard written to {page}" in out
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "0.033000" in html  # the report's savings, carried into the page


def test_html_to_an_unwritable_place(sqlite_store: Store, sqlite_path: str, tmp_path: Path) -> None:
    code, _, err = run("--db", sqlite_path, "--html", str(tmp_path / "missing" / "r.html"))
    assert code == 2
    assert "--html: cannot write" in err
