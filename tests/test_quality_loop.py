"""The quality loop end to end, small: ``benchmarks/quality_loop.py`` records the demo workload
through ``tierwise serve`` (shadow evaluation and escalation on) in front of the fake API, then
``review`` proposes, ``replay`` predicts, and a proxy running the proposal re-runs the traffic.

Sample sizes are cut (2 repeats, ``--min-samples 6``) to keep it fast; the benchmark's default
run is the one whose figures are quoted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tierwise.core.policy import load_policy
from tierwise.core.tiers import Tier

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "quality_loop.py"
TIER_OF = {"claude-haiku-5-5": "haiku", "claude-sonnet-5-5": "sonnet", "claude-opus-5-5": "opus"}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("loop")
    command = [sys.executable, str(SCRIPT), "--repeats", "2", "--min-samples", "6"]
    done = subprocess.run(
        [*command, "--keep", str(work), "--json"],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    loaded["work"] = str(work)
    return loaded


def test_review_proposes_each_scripted_change_with_its_evidence(result: dict[str, Any]) -> None:
    proposals = {p["task_type"]: p for p in result["review"]["proposals"]}
    moves = {
        t: (p["direction"], p["current_tier"], p["proposed_tier"]) for t, p in proposals.items()
    }
    assert moves == {
        "boilerplate": ("upgrade", "haiku", "sonnet"),  # Haiku's answers fail the JSON check
        "format": ("upgrade", "haiku", "sonnet"),  # the judge prefers the baseline
        "implement": ("downgrade", "sonnet", "haiku"),  # as good at Haiku (free-tier requests)
    }
    assert "escalation_rate" in proposals["boilerplate"]["measures"]
    assert proposals["boilerplate"]["measures"]["escalation_rate"]["value"] > 0.2
    assert proposals["format"]["measures"]["quality_retention"]["value"] < 0.5
    assert proposals["implement"]["measures"]["quality_retention"]["value"] == 1.0
    assert all(p["evidence"] for p in proposals.values())
    written = Path(result["work"]) / "proposal.toml"
    routes = load_policy(written).config.routes
    assert routes["boilerplate"].tier is Tier.SONNET
    assert routes["format"].tier is Tier.SONNET
    assert routes["implement"].tier is Tier.HAIKU


def test_every_routed_answer_is_judged_and_scored_before_the_proxy_stops(
    result: dict[str, Any],
) -> None:
    shadow = result["shadow"]
    assert shadow["candidates"] == sum(
        n for model, n in result["served"].items() if TIER_OF[model] != "opus"
    )
    assert shadow["evaluations"] == shadow["candidates"] == shadow["report"]["judged"]
    assert shadow["scored_records"] == shadow["report"]["judged"]
    assert shadow["judge_calls"] == shadow["report"]["judged"] + shadow["report"]["both_orders"]
    totals = result["recorded_report"]["totals"]
    assert totals["escalations"] > 0
    assert totals["fallbacks"] == 0  # an escalation is not a fallback
    firing = {alert["name"] for alert in result["recorded_report"]["alerts"]}
    assert "quality_drop" in firing


def test_replay_predicts_the_rerun_of_the_proposal(result: dict[str, Any]) -> None:
    replay, rerun, figures = result["replay"], result["rerun"], result["figures"]
    assert replay["replayed"] == rerun["requests"] == result["requests"]
    served_after = {TIER_OF[model]: n for model, n in rerun["served"].items()}
    assert replay["tiers_after"] == served_after
    assert replay["changed_model"] > 0
    assert abs(figures["relative_error"]) < 0.03, figures
    assert figures["predicted_change"] * figures["real_change"] > 0, figures
