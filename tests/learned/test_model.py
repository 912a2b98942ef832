"""The router file: scores from a trained router, the round trip, the safe loader, the
strategy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation.synthetic import write_dataset
from tierwise.analysis.evaluation.dataset import load_dataset
from tierwise.analysis.training.train import PRESETS, examples_from_dataset, fit
from tierwise.core.errors import InputError, PolicyError
from tierwise.core.policy import load_policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.model import load_router, parse_router, rung_scores
from tierwise.learned.pipeline import Router


@pytest.fixture(scope="module", params=list(PRESETS))
def router_file(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    folder = tmp_path_factory.mktemp("router")
    dataset = load_dataset(write_dataset(folder, tiers=3))
    path = folder / "router.json"
    preset = PRESETS[request.param]
    fit(examples_from_dataset(dataset), dataset.tiers, preset=preset).save(path)
    return path


def test_learns_which_prompts_need_a_higher_tier(router_file: Path) -> None:
    router = load_router(router_file)
    assert router.tiers == (Tier.HAIKU, Tier.SONNET, Tier.OPUS)
    hard = router.scores("sort a list and prove it is optimal #999", "math")
    easy = router.scores("sort a list please #999", "chores")
    assert hard[0] > 0.5 > easy[0]
    assert router.choose(hard, {}) > router.choose(easy, {}) == Tier.HAIKU
    p = router.probabilities("sort a list and prove it is optimal #999", "math")
    assert p[0] < 0.5 < p[2]  # haiku fails these, opus answers them


def test_round_trip_keeps_scores(router_file: Path) -> None:
    router = load_router(router_file)
    again = parse_router(router.to_json())
    assert (again.idf is None) == (router.idf is None)
    text = "format json and prove it #3"
    assert again.probabilities(text, "math") == pytest.approx(
        router.probabilities(text, "math"), abs=1e-5
    )


def test_rung_scores_are_expected_gains_clipped_at_zero_with_order_kept() -> None:
    scores = rung_scores(np.array([[0.2, 0.9, 0.6], [0.9, 0.5, 0.7], [0.8, 0.6, 0.7]]))
    assert scores == pytest.approx(np.array([[0.7, 0.0], [0.0, 0.2], [0.0, 0.1]]), abs=1e-3)
    assert 0 <= scores[1, 0] < scores[2, 0]  # gains −0.2 and −0.1 stay ordered
    assert scores.max() <= 1
    assert rung_scores(np.array([[0.0, 1.0]]))[0, 0] == 1.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda d: (
                d["heads"][0]["indices"].append(1 << 30),
                d["heads"][0]["values"].append(1),
            ),
            "heads.0.indices",
        ),
        (lambda d: d["heads"][0]["values"].pop(), "heads.0"),
        (lambda d: d["heads"].pop(), "heads must be one per tier"),
        (lambda d: d["heads"][1]["signal_weights"].pop(), "heads.1.signal_weights"),
        (lambda d: d.update(tiers=["opus", "haiku", "sonnet"]), "cheapest first"),
        (lambda d: d.update(version=3), "version"),
        (lambda d: d.update(version=1), "retrain"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["features"].update(dim=10), "features.dim"),
        (lambda d: d["features"].update(signals=["log_chars"]), "difficulty signals"),
        (lambda d: d["features"].update(chars=[4, 2]), "features"),
    ],
)
def test_loader_rejects_bad_files_naming_the_field(
    router_file: Path, change: object, field: str
) -> None:
    data = json.loads(router_file.read_text())
    change(data)  # type: ignore[operator]
    with pytest.raises(InputError, match=field):
        parse_router(json.dumps(data))


def test_loader_rejects_nan_and_non_json(router_file: Path, tmp_path: Path) -> None:
    data = json.loads(router_file.read_text())
    data["heads"][0]["bias"] = float("nan")  # json.dumps writes NaN, which JSON parsers accept
    with pytest.raises(InputError, match=r"heads\.0\.bias"):
        parse_router(json.dumps(data))
    pickled = tmp_path / "router.pkl"
    pickled.write_bytes(b"\x80\x04\x95\x00")
    with pytest.raises(InputError, match=r"router\.pkl"):
        load_router(pickled)


def test_learned_strategy_routes_with_policy_thresholds(router_file: Path, tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        'extends = "default"\nstrategies = ["learned", "user_tier", "default"]\n'
        f"[learned]\nrouter = {json.dumps(str(router_file))}\nthresholds = {{ haiku = 0.5 }}\n"
    )
    router = Router(load_policy(policy_file))
    hard = router.decide(RouteRequest(text="add two numbers and prove it is optimal"))
    easy = router.decide(RouteRequest(text="add two numbers please"))
    assert easy.tier is Tier.HAIKU
    assert hard.tier > Tier.HAIKU
    verdict = hard.trace[0]
    assert verdict.strategy == "learned"
    assert verdict.score is not None
    assert verdict.score > 0.5
    capped = router.decide(
        RouteRequest(text="add two numbers and prove it is optimal", user_tier="free")
    )
    assert capped.tier is Tier.HAIKU  # the user tier's ceiling still applies


def test_policy_naming_the_strategy_needs_a_router_file(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('extends = "default"\nstrategies = ["learned", "default"]\n')
    with pytest.raises(PolicyError, match=r"learned.router"):
        load_policy(policy_file)
    policy_file.write_text(
        'extends = "default"\n[learned]\nrouter = "r.json"\nthresholds = { haiku = 1.5 }\n'
    )
    with pytest.raises(PolicyError, match=r"learned.thresholds.haiku"):
        load_policy(policy_file)
