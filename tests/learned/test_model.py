"""Training on synthetic data, the router file round trip, the safe loader and the strategy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.synthetic import write_dataset
from tierwise.decision import RouteRequest
from tierwise.errors import InputError, PolicyError
from tierwise.evaluation.dataset import load_dataset
from tierwise.learned.model import load_router, parse_router
from tierwise.learned.train import Example, cross_val_scores, examples_from_dataset, fit
from tierwise.policy import load_policy
from tierwise.router import Router
from tierwise.tiers import Tier


@pytest.fixture(scope="module")
def router_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("router")
    dataset = load_dataset(write_dataset(folder, tiers=3))
    path = folder / "router.json"
    fit(examples_from_dataset(dataset), dataset.tiers).save(path)
    return path


def test_learns_which_prompts_need_a_higher_tier(router_file: Path) -> None:
    router = load_router(router_file)
    assert router.tiers == (Tier.HAIKU, Tier.SONNET, Tier.OPUS)
    hard = router.scores("sort a list and prove it is optimal #999", "math")
    easy = router.scores("sort a list please #999", "chores")
    assert hard[0] > 0.5 > easy[0]
    assert router.choose(hard, {}) > router.choose(easy, {}) == Tier.HAIKU


def test_round_trip_keeps_scores(router_file: Path) -> None:
    router = load_router(router_file)
    again = parse_router(router.to_json())
    text = "format json and prove it #3"
    assert again.scores(text, "math") == pytest.approx(router.scores(text, "math"), abs=1e-5)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda d: (
                d["rungs"][0]["indices"].append(1 << 30),
                d["rungs"][0]["weights"].append(1),
            ),
            "rungs.0.indices",
        ),
        (lambda d: d["rungs"][0]["weights"].pop(), "rungs.0"),
        (lambda d: d["rungs"].pop(), "rungs must be one per tier"),
        (lambda d: d.update(tiers=["opus", "haiku", "sonnet"]), "cheapest first"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["features"].update(dim=10), "features.dim"),
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
    data["rungs"][0]["bias"] = float("nan")  # json.dumps writes NaN, which JSON parsers accept
    with pytest.raises(InputError, match=r"rungs\.0\.bias"):
        parse_router(json.dumps(data))
    pickled = tmp_path / "router.pkl"
    pickled.write_bytes(b"\x80\x04\x95\x00")
    with pytest.raises(InputError, match=r"router\.pkl"):
        load_router(pickled)


def test_rung_with_one_class_is_a_constant_and_partial_labels_are_used() -> None:
    examples = [
        Example("easy thing", None, {Tier.HAIKU: 0}),
        Example("another easy thing", None, {Tier.HAIKU: 0, Tier.SONNET: 1}),
        Example("hard thing", None, {Tier.SONNET: 0}),
    ]
    router = fit(examples, [Tier.HAIKU, Tier.SONNET, Tier.OPUS])
    assert router.scores("anything")[0] < 0.5  # haiku sufficed every time it was seen
    assert not router.rungs[0].weights.any()
    with pytest.raises(InputError, match="sonnet"):
        fit([Example("x", None, {Tier.HAIKU: 1})], [Tier.HAIKU, Tier.SONNET, Tier.OPUS])


def test_cross_validation_scores_every_row_out_of_fold(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path, rows=60))
    scores = cross_val_scores(dataset, folds=5)
    hard = dataset.scores[:, 0] == 0
    assert scores.shape == (60, 1)
    assert scores[hard, 0].min() > scores[~hard, 0].max()
    with pytest.raises(InputError, match="--cv"):
        cross_val_scores(dataset, folds=1)


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
