"""The issue's promise: ``tierwise demo`` followed by ``tierwise report`` shows the savings."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.demo import load_workload


def test_demo_then_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWISE_DATA_DIR", str(tmp_path))  # a store of this test's own
    runner = CliRunner()
    demo = runner.invoke(app, ["demo"])
    assert demo.exit_code == 0, demo.output
    demo_db = str(tmp_path / "demo.db")  # the demo's own store, apart from serve's
    run = runner.invoke(app, ["report", "--db", demo_db, "--json", "--by", "tier"])
    assert run.exit_code == 0, run.output
    totals = json.loads(run.stdout)["totals"]
    assert totals["requests"] == len(load_workload())
    assert totals["errors"] == 0
    assert Decimal(totals["savings_usd"]) > 0
    assert 0 < totals["savings_pct"] < 1
    assert Decimal(totals["projected_monthly_usd"]) > 0
    table = runner.invoke(app, ["report", "--db", demo_db])
    assert table.exit_code == 0
    assert f"{len(load_workload())} (" in table.stdout
