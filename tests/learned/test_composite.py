"""The composite policy: the rules decide where they are confident, the learned router the
rest (only self-contained questions), and calibration scores the composite's own decisions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tierwise.analysis.evaluation.calibrate import Target, calibrate
from tierwise.analysis.evaluation.costs import cost_matrix
from tierwise.analysis.evaluation.dataset import load_dataset
from tierwise.analysis.evaluation.metrics import choose
from tierwise.analysis.evaluation.routers import (
    composite_outcomes,
    learned_scores,
    policy_choices,
)
from tierwise.analysis.training.train import PRESETS, examples_from_dataset, fit
from tierwise.cli import app
from tierwise.core.errors import InputError, PolicyError
from tierwise.core.policy import default_policy, load_policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.model import load_router
from tierwise.learned.pipeline import Router

KEYWORD = "fix the typo in the README"  # a keyword rule decides: haiku
# Past the short-question ceiling (sonnet, which a haiku/opus dataset maps to haiku).
LONG = (
    ", if every crate holds as many apples as the crate counted last week at the farm near "
    "the old river, and nobody has eaten any of them since"
)


def _write(folder: Path, name: str, start: int, rows: int = 90) -> Path:
    """A haiku/opus dataset of short numeric questions: "zorblax" ones need the top tier."""
    lines = []
    for i in range(start, start + rows):
        hard = i % 3 == 0
        crates = f"{i} crates" if i % 2 else f"crate {i}"
        prompt = f"how many apples are in {crates}{' with zorblax' if hard else ''}{LONG}?"
        scores = {"small": 0.0 if hard else 1.0, "big": 1.0}
        if i % 10 == 1:
            prompt = f"{KEYWORD} number {i}"  # rule-decided rows (haiku; right on easy ones)
        row = {"id": f"{name}-{i}", "prompt": prompt, "scores": scores}
        lines.append(json.dumps({**row, "output_tokens": {"small": 50, "big": 50}}))
    path = folder / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"name": name, "models": {"small": {"tier": "haiku"}, "big": {"tier": "opus"}}}
    (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("composite")
    train = load_dataset(_write(folder, "fit", 0))
    fit(examples_from_dataset(train), train.tiers, preset=PRESETS["words-chars"]).save(
        folder / "router.json"
    )
    _write(folder, "unseen", 1000)
    return folder


def _composite(folder: Path, **learned: object) -> Router:
    router = str(folder / "router.json")
    return Router(load_policy("composite", overrides={"learned": {"router": router, **learned}}))


def test_the_shipped_composite_needs_a_router_and_extends_the_default(folder: Path) -> None:
    with pytest.raises(PolicyError, match=r"learned\.router"):
        load_policy("composite")
    policy = _composite(folder).policy
    strategies = policy.config.strategies
    assert policy.config.name == "composite"
    assert policy.config.learned.gate == "question"
    assert strategies.index("action") < strategies.index("learned") < strategies.index("brevity")
    assert policy.config.keywords == default_policy().config.keywords
    mine = folder / "mine.toml"
    mine.write_text(f'extends = "composite"\n[learned]\nrouter = "{folder / "router.json"}"\n')
    assert load_policy(mine).config.strategies == strategies


def test_rules_decide_where_confident_the_router_the_rest(folder: Path) -> None:
    router = _composite(folder, thresholds={"haiku": 0.5})
    keyword = router.decide(RouteRequest(text=KEYWORD))
    assert keyword.trace[0].strategy != "learned"
    decisive = [v for v in keyword.trace if v.action.name == "DECIDE"]
    assert decisive[0].strategy == "keywords"
    assert keyword.tier is Tier.HAIKU
    assert all(v.strategy != "learned" for v in keyword.trace)  # skipped once a rule decided
    easy = router.decide(RouteRequest(text="how many apples are in 7 crates?"))
    assert easy.reason.startswith("learned")
    assert easy.tier is Tier.HAIKU
    hard = router.decide(RouteRequest(text="how many apples are in 7 crates with zorblax?"))
    assert hard.reason.startswith("learned")
    # the learned router wants opus; the rules' ceiling on a short question still bounds it
    assert hard.tier is Tier.SONNET
    assert "capped at sonnet by signals" in hard.reason
    # not a self-contained question: the gate leaves it to the rules (brevity, here)
    chore = router.decide(RouteRequest(text="sort these imports"))
    assert chore.reason.startswith("brevity")
    assert "left to the rules" in next(v.reason for v in chore.trace if v.strategy == "learned")


def test_calibration_scores_the_composites_decisions(folder: Path) -> None:
    dataset = load_dataset(folder / "unseen.jsonl")
    router = _composite(folder)
    outcome = composite_outcomes(dataset, router.policy, lambda: None)
    ruled = np.array(["typo" in row.prompt for row in dataset.rows])
    assert (outcome[ruled] == 0).all()  # the keyword rule decides haiku whatever the router says
    assert (outcome[~ruled] == [0, 1]).all()  # elsewhere the router's choice stands
    scores = learned_scores(dataset, load_router(folder / "router.json"), lambda: None)
    cost = cost_matrix(dataset, default_policy())
    goal = Target("retention", 0.9)
    result = calibrate(
        scores, dataset.scores, cost, dataset.tiers, goal, resamples=20, outcome=outcome
    )
    assert result.met
    assert result.retention.value >= 0.9
    threshold = result.thresholds[Tier.HAIKU]
    # the figures are the composite's: the real router at that threshold makes the same choices
    real = _composite(folder, thresholds={"haiku": threshold})
    expected = choose(scores, np.array([threshold]), outcome)
    assert (policy_choices(dataset, real.policy, lambda: None) == expected).all()


def test_calibrate_policy_option_writes_a_policy_extending_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)
    out = folder / "calibrated.toml"
    args = ["calibrate", "unseen.jsonl", "--router", "router.json", "--target", "retention=0.9"]
    result = CliRunner().invoke(app, [*args, "--policy", "composite", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["met"]
    assert figures["rows"] == 90
    written = out.read_text()
    assert 'extends = "composite"' in written
    policy = load_policy(out)
    assert policy.config.name == "composite"
    assert "learned" in policy.config.strategies
    assert policy.config.learned.thresholds[Tier.HAIKU] == pytest.approx(
        figures["thresholds"]["haiku"], abs=1e-6
    )


def test_a_policy_without_the_learned_strategy_cannot_be_calibrated(folder: Path) -> None:
    dataset = load_dataset(folder / "unseen.jsonl")
    with pytest.raises(InputError, match="does not run the learned strategy"):
        composite_outcomes(dataset, default_policy(), lambda: None)


@pytest.mark.parametrize(
    ("text", "passes"),
    [
        (
            "Ryan plants 2 flowers a day. After 15 days, how many does he have if 5 did not grow?",
            True,
        ),
        ("Which of the following is true?\nA. one\nB. two\nC. three\nD. four\nAnswer:", True),
        ("how many orders were placed in the last 7 days?", True),
        (
            "For our inventory, should we lock rows with SELECT ... FOR UPDATE? ~50 updates/s?",
            False,
        ),
        ("Rails: when an order ships, send tracking info via a job, retry 5 times?", False),
        ("why does `sum_list(xs)` return 0 for 3 items?", False),
        ("how many apples are in 7 crates", False),  # not a question
        ("what is the capital of France?", False),  # no numbers: not exam-shaped prose
    ],
)
def test_the_gate_lets_through_only_self_contained_questions(text: str, passes: bool) -> None:
    from tierwise.core.features import PromptFeatures
    from tierwise.learned.gate import self_contained_question

    request = RouteRequest(text=text)
    assert self_contained_question(text, PromptFeatures.of(request)) is passes
