"""``tierwise report`` on shadow-evaluated traffic: retention per task type with its interval,
the quality alert, and the shadow spend kept apart from the traffic's."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tierwise.analysis.report.money import usd
from tierwise.cli import app
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.serving.shadow.ledger import ShadowRow
from tierwise.testing import FakeAnthropicServer, Reply

from .conftest import CONVERT, JUDGE, SUMMARIZE, policy_with, shadow_proxy


def _run(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path, judge_says: str
) -> tuple[list[ShadowRow], list[DecisionRecord]]:
    fake.script.set_default(Reply(f'{{"better": "{judge_says}"}}'), model=JUDGE)
    with shadow_proxy(fake, store, policy_with(tmp_path, both_orders_share=0.5), seed=3) as proxy:
        for text in [CONVERT] * 6 + [SUMMARIZE] * 4:
            proxy.ask(text)
        proxy.wait_done(10)
        proxy.recorder.flush(5.0)
        return proxy.rows(), store.records()


def _report(store: Store, *args: str) -> str:
    assert store.path is not None
    command = ["report", "--since", "all", "--db", str(store.path), *args]
    result = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_retention_per_task_type_and_the_alert(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    rows, records = _run(fake, store, tmp_path, "B")
    data: dict[str, Any] = json.loads(_report(store, "--json"))
    scores: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        assert row.quality_score is not None
        scores[row.task_type or ""].append(row.quality_score)
    by_type = {entry["task_type"]: entry for entry in data["task_types"]}
    for task_type, values in scores.items():
        entry = by_type[task_type]
        mean = sum(values) / len(values)
        assert entry["quality_scored"] == len(values)
        assert entry["quality_retention"] == round(mean, 6)
        interval = entry["quality_interval"]
        assert interval["n"] == len(values)
        assert interval["low"] <= mean <= interval["high"]
        assert 0 < interval["high"] - interval["low"] < 1
    retention = sum(sum(v) for v in scores.values()) / len(rows)
    assert retention < 0.95, "with this seed the judge prefers the baseline at least once"
    (quality,) = [a for a in data["alerts"] if a["name"] == "quality_drop"]
    assert quality["firing"]
    assert data["totals"]["quality_retention"] == round(retention, 6)
    # the shadow spend is its own figure, not part of the routed traffic's cost
    shadow = data["shadow"]
    assert shadow["evaluations"] == shadow["judged"] == 10
    assert shadow["shadow_cost_usd"] == usd(sum(r.shadow_cost_micro_usd or 0 for r in rows))
    assert shadow["judge_cost_usd"] == usd(sum(r.judge_cost_micro_usd or 0 for r in rows))
    assert data["totals"]["cost_usd"] == usd(sum(r.cost_micro_usd or 0 for r in records))
    both = [r for r in rows if r.both_orders]
    assert shadow["both_orders"] == len(both) > 0
    disagree = sum(bool(r.orders_disagree) for r in both)
    assert shadow["position_disagreement_rate"] == round(disagree / len(both), 6)
    text = _report(store)
    assert "ALERT" in text
    assert "quality retention by task type" in text
    assert "convert" in text
    assert "summarize" in text
    assert "shadow evaluation" in text
    assert "apart from the spend above" in text


def test_no_alert_when_the_routed_answers_hold_up(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    rows, _ = _run(fake, store, tmp_path, "tie")
    assert {row.quality_score for row in rows} == {1.0}
    data = json.loads(_report(store, "--json"))
    (quality,) = [a for a in data["alerts"] if a["name"] == "quality_drop"]
    assert not quality["firing"]
    assert {e["quality_retention"] for e in data["task_types"]} == {1.0}
    assert data["shadow"]["position_disagreement_rate"] in (0.0, None)
