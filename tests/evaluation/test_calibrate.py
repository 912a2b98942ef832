"""Calibration: thresholds for each kind of target, with bootstrap intervals around them."""

from __future__ import annotations

import numpy as np
import pytest

from tierwise.analysis.evaluation.calibrate import Target, calibrate
from tierwise.core.errors import InputError
from tierwise.core.tiers import Tier

TIERS = (Tier.HAIKU, Tier.OPUS)


def _data(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    hard = rng.random(n) < 0.3
    quality = np.stack([(~hard).astype(float), np.ones(n)], axis=1)
    scores = np.where(hard, 0.6, 0.4)[:, None] + rng.normal(0, 0.15, (n, 1))
    cost = np.tile([1.0, 10.0], (n, 1))
    return scores, quality, cost


def test_retention_target_is_met_at_the_lowest_cost() -> None:
    scores, quality, cost = _data()
    result = calibrate(scores, quality, cost, TIERS, Target.parse("retention=0.95"))
    assert result.met
    assert result.retention.value >= 0.95
    assert result.retention.low <= result.retention.value <= result.retention.high
    assert 0 < result.savings.value < 1
    looser = calibrate(scores, quality, cost, TIERS, Target.parse("retention=0.8"))
    assert looser.savings.value > result.savings.value


def test_top_share_and_budget_targets_are_respected() -> None:
    scores, quality, cost = _data()
    share = calibrate(scores, quality, cost, TIERS, Target.parse("max-top-share=0.2"))
    assert share.met
    assert share.top_share.value <= 0.2
    budget = calibrate(scores, quality, cost, TIERS, Target.parse("budget=3000"))  # per 1,000
    assert budget.met
    assert budget.usd_per_1000 <= 3000
    assert set(budget.thresholds) == {Tier.HAIKU}


def test_unreachable_target_says_so() -> None:
    scores, quality, cost = _data()
    result = calibrate(scores, quality, cost, TIERS, Target.parse("budget=0.5"))
    assert not result.met


@pytest.mark.parametrize(
    "text", ["quality=0.9", "retention=abc", "retention=0", "max-top-share=2", "budget=-1"]
)
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="--target"):
        Target.parse(text)
