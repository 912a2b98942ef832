"""The metrics on tiny datasets whose figures are computed by hand in the comments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tierwise.analysis.evaluation.metrics import (
    choose,
    frontier,
    operating_points,
    pair_curve,
    point,
    savings_at_retention,
)
from tierwise.core.tiers import Tier

# Four rows, weak | strong: row 0 both right, row 1 only strong, row 2 only weak, row 3 neither.
QUALITY = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
COST = np.array([[1.0, 10.0], [1.0, 10.0], [1.0, 10.0], [1.0, 10.0]])
TIERS = (Tier.HAIKU, Tier.OPUS)


def test_point_quality_retention_savings_and_mix() -> None:
    result = point(np.array([0, 1, 0, 1]), QUALITY, COST, TIERS)
    # quality (1 + 1 + 1 + 0) / 4; always-top quality 2/4; cost 1+10+1+10 of 40
    assert result.quality == pytest.approx(0.75)
    assert result.retention == pytest.approx(1.5)
    assert result.cost == pytest.approx(22.0)
    assert result.savings == pytest.approx(1 - 22 / 40)
    assert result.top_share == pytest.approx(0.5)
    assert result.tier_mix == {Tier.HAIKU: 0.5, Tier.OPUS: 0.5}


def test_curve_of_a_perfect_score_and_its_apgr() -> None:
    # score orders row 1 (gain +1) first, rows 0 and 3 (gain 0) tied, row 2 (gain -1) last
    curve = pair_curve(np.array([0.5, 0.9, 0.1, 0.5]), QUALITY, COST)
    assert curve.shares.tolist() == [0, 0.25, 0.75, 1.0]
    assert curve.qualities.tolist() == pytest.approx([0.5, 0.75, 0.75, 0.5])
    assert curve.costs.tolist() == pytest.approx([4, 13, 31, 40])
    # Q_weak = Q_strong = 0.5 here: PGR is undefined, reported as 0
    assert curve.apgr() == 0.0


def test_apgr_pgr_and_cpt_on_a_pair_with_a_gap() -> None:
    quality = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    cost = np.ones((4, 2))
    good = pair_curve(np.array([0.9, 0.8, 0.2, 0.1]), quality, cost)
    # PGR climbs 0 → 0.5 → 1 over shares 0, .25, .5 then stays 1: area .0625 + .1875 + .5
    assert good.apgr() == pytest.approx(0.75)
    assert good.cpt(0.5) == pytest.approx(0.25)
    assert good.cpt(0.8) == pytest.approx(0.25 + 0.3 * 0.25 / 0.5)
    worst = pair_curve(np.array([0.1, 0.2, 0.8, 0.9]), quality, cost)
    assert worst.apgr() == pytest.approx(0.25)  # PGR 0, 0, 0, .5, 1
    tied = pair_curve(np.zeros(4), quality, cost)  # all ties: the straight line, like random
    assert tied.apgr() == pytest.approx(0.5)
    assert tied.cpt(0.95) == pytest.approx(0.95)


def test_random_scores_average_near_one_half() -> None:
    rng = np.random.default_rng(1)
    quality = (rng.random((4000, 2)) < [0.5, 0.8]).astype(float)
    values = [pair_curve(rng.random(4000), quality, np.ones((4000, 2))).apgr() for _ in range(5)]
    assert np.mean(values) == pytest.approx(0.5, abs=0.03)


def test_choose_picks_the_cheapest_rung_under_its_threshold() -> None:
    scores = np.array([[0.1, 0.9], [0.7, 0.2], [0.7, 0.8]])
    assert choose(scores, np.array([0.5, 0.5])).tolist() == [0, 1, 2]
    assert choose(scores, np.array([0.0, 0.0])).tolist() == [2, 2, 2]


def test_savings_at_retention_takes_the_cheapest_point_that_keeps_quality() -> None:
    quality = np.array([[0.0, 1.0], [1.0, 1.0]])
    cost = np.array([[1.0, 3.0], [1.0, 3.0]])
    points = [
        (p.quality, p.cost) for p in operating_points(np.array([[0.9], [0.1]]), quality, cost)
    ]
    # shares 0, .5, 1 → quality .5, 1, 1 and cost 2, 4, 6: 100 % retention at cost 4 of 6;
    # 99 % by mixing the first two points at random: cost 2 + 0.98 × 2 = 3.96 of 6
    assert savings_at_retention(points, quality, cost, 1.0) == pytest.approx(1 / 3)
    assert savings_at_retention(points, quality, cost, 0.99) == pytest.approx(1 - 3.96 / 6)
    assert savings_at_retention(points, quality, cost, 0.5) == pytest.approx(2 / 3)
    assert savings_at_retention([(0.1, 1.0)], quality, cost, 0.95) is None


def test_three_tier_grid_reaches_the_oracle_and_frontier_is_monotone() -> None:
    quality = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    cost = np.tile([1.0, 2.0, 4.0], (3, 1))
    scores = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])  # a perfect router
    points = operating_points(scores, quality, cost)
    best = frontier([(p.quality, p.cost) for p in points])
    assert best[-1] == pytest.approx((1.0, 7.0))  # haiku + sonnet + opus, all right
    assert all(a[0] < b[0] and a[1] <= b[1] for a, b in itertools.pairwise(best))
