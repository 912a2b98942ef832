"""Training: per-tier heads, partial and fractional outcomes, preset selection by inner
cross-validation, out-of-fold scores, and training/inference agreeing on every prompt."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from evaluation.synthetic import write_dataset
from tierwise.analysis.evaluation.dataset import load_dataset
from tierwise.analysis.training.train import (
    PRESETS,
    Blocks,
    Example,
    _probabilities,
    _train,
    cross_val_scores,
    examples_from_dataset,
    fit,
)
from tierwise.core.errors import InputError
from tierwise.core.tiers import Tier

LADDER = (Tier.HAIKU, Tier.SONNET, Tier.OPUS)


def test_one_class_head_is_a_constant_and_partial_outcomes_are_used() -> None:
    examples = [
        Example("easy thing", None, {Tier.HAIKU: 1, Tier.SONNET: 1}),
        Example("another easy thing", None, {Tier.HAIKU: 1, Tier.SONNET: 0}),
        Example("hard thing", None, {Tier.SONNET: 1, Tier.OPUS: 1}),
    ]
    router = fit(examples, LADDER, preset=PRESETS["words-chars"])
    heads = router.heads
    assert not heads.weights[0].any()
    assert not heads.signal_weights[0].any()
    assert heads.bias[0] == pytest.approx(math.log(3))  # (2 + 1) / (2 + 2) = 0.75 → logit
    assert heads.weights[1].any()  # sonnet saw both outcomes
    assert router.probabilities("anything")[2] == pytest.approx(2 / 3)  # opus: 1 success
    with pytest.raises(InputError, match="sonnet"):
        fit([Example("x", None, {Tier.HAIKU: 1, Tier.OPUS: 0})], LADDER)


def test_fractional_outcomes_count_as_weighted_successes() -> None:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(50)]
    examples = [
        Example(" ".join(rng.choices(words, k=8)), None, {Tier.HAIKU: 0.25, Tier.OPUS: 1.0})
        for _ in range(60)
    ] + [Example("pinned", None, {Tier.HAIKU: 1.0, Tier.OPUS: 0.0})]
    router = fit(examples, (Tier.HAIKU, Tier.OPUS), preset=PRESETS["words-idf"])
    assert router.probabilities(" ".join(rng.choices(words, k=8)))[0] == pytest.approx(
        0.25, abs=0.1
    )


def test_inference_computes_what_training_computed(tmp_path: Path) -> None:
    """The matrix path of cross-validation and the per-prompt path of the router agree."""
    dataset = load_dataset(write_dataset(tmp_path, rows=60, tiers=3))
    examples = examples_from_dataset(dataset)
    rows = np.arange(len(examples), dtype=np.intp)
    for name, preset in PRESETS.items():
        blocks = Blocks.build(examples, preset)
        trained = _train(blocks, rows, examples, LADDER, 1.0)
        matrix = _probabilities(blocks, rows, trained)
        router = fit(examples, LADDER, preset=preset)
        assert router.trained["features"] == name
        for i in (0, 1, 2, 59):
            one = router.probabilities(examples[i].text, examples[i].category)
            assert one == pytest.approx(matrix[i], abs=1e-9)


def test_selection_picks_the_preset_that_sees_the_signal() -> None:
    """Hard prompts share only a piece of a word ('zqx' inside a new word each time): word
    features cannot see it, character n-grams can, and inner cross-validation says so."""
    rng = random.Random(1)
    words = [f"topic{i}" for i in range(30)]
    examples = []
    for i in range(150):
        hard = i % 3 == 0
        marker = f"zqx{i}" if hard else f"plain{i}"
        text = " ".join([*rng.choices(words, k=6), marker])
        examples.append(Example(text, None, {Tier.HAIKU: float(not hard), Tier.OPUS: 1.0}))
    router = fit(examples, (Tier.HAIKU, Tier.OPUS))
    assert router.trained["features"] == "words-chars"
    assert router.scores("topic1 topic2 zqx999")[0] > router.scores("topic1 topic2 plain999")[0]


def test_cross_validation_scores_every_row_out_of_fold(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path, rows=60))
    scores = cross_val_scores(dataset, folds=5, preset=PRESETS["words-chars"])
    hard = dataset.scores[:, 0] == 0
    assert scores.shape == (60, 1)
    assert scores[hard, 0].min() > scores[~hard, 0].max()
    with pytest.raises(InputError, match="--cv"):
        cross_val_scores(dataset, folds=1)


def test_selection_copes_with_a_tier_missing_from_inner_folds() -> None:
    """Log records rarely show the middle tier: selection falls back to the first preset, and
    the final fit still uses the few rows that do."""
    rng = random.Random(2)
    words = [f"w{i}" for i in range(40)]
    examples = [
        Example(" ".join(rng.choices(words, k=5)), None, {Tier.HAIKU: float(i % 2), Tier.OPUS: 1})
        for i in range(60)
    ] + [Example("middle", None, {Tier.SONNET: 1.0})]
    router = fit(examples, LADDER)
    assert router.trained["features"] == next(iter(PRESETS))
    assert router.probabilities("middle")[1] == pytest.approx(2 / 3)
