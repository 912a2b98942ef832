"""Training with an honest default operating point: fit on part of the rows, calibrate on the
rest, and say how far the fitted rows flatter the router.

A router calibrated on the rows it was fitted on sees its own memorised answers: it claimed 95 %
retention and delivered 70–89 % on new rows. Here a stratified share of the labelled rows
(20 % by default) is held out before anything is fitted; the default thresholds are chosen on
those rows only, so that the one-sided 95 % lower bound of retention reaches the target, and
written into the router file. The file also keeps fingerprints of the fitted prompts, so
``calibrate`` can refuse them later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tierwise.analysis.evaluation.calibrate import Calibration, Target, calibrate
from tierwise.analysis.evaluation.metrics import Floats, pair_curve
from tierwise.analysis.training.train import C_GRID, Example, Preset, fit
from tierwise.core.tiers import Tier
from tierwise.learned.fingerprint import fingerprints
from tierwise.learned.model import LearnedRouter, rung_scores

CALIBRATION_SHARE = 0.2
MIN_CALIBRATION_ROWS = 100  # fewer: an interval too wide to choose thresholds with


@dataclass(frozen=True)
class Holdout:
    """What the held-out rows say about the trained router."""

    fit_rows: int
    calibration_rows: int
    apgr_fitted: float | None  # cheapest↔top APGR on the fitted rows (in-sample)
    apgr_held_out: float | None  # the same on the held-out rows
    calibration: Calibration | None  # None: too few held-out rows with every tier's score


def split(
    examples: Sequence[Example], groups: Sequence[str], share: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows): ``share`` of each group held out at random (log records,
    group ``logs``, are always fitted: they rarely show every tier)."""
    rng = np.random.default_rng(seed)
    fit_rows: list[int] = []
    held: list[int] = []  # the rows calibration may use
    for group in sorted(set(groups)):
        rows = np.array([i for i, g in enumerate(groups) if g == group], dtype=np.intp)
        count = 0 if group == "logs" else round(len(rows) * share)
        order = rng.permutation(rows)
        held.extend(order[:count].tolist())
        fit_rows.extend(order[count:].tolist())
    return np.array(sorted(fit_rows), dtype=np.intp), np.array(sorted(held), dtype=np.intp)


def train_with_holdout(
    examples: Sequence[Example],
    groups: Sequence[str],
    tiers: Sequence[Tier],
    *,
    target: float = 0.95,
    share: float = CALIBRATION_SHARE,
    preset: Preset | None = None,
    c: float | Sequence[float] = C_GRID,
    prices: Sequence[float] | None = None,
    trained: dict[str, object] | None = None,
    seed: int = 0,
) -> tuple[LearnedRouter, Holdout]:
    """Fit on all but the held-out share, choose the default thresholds on the held-out rows
    for ``target`` retention, and record the fitted rows' fingerprints. ``prices``: relative
    cost of each tier (cheapest first) for choosing among thresholds that keep the target."""
    if share > 0:
        fit_array, held_array = split(examples, groups, share, seed)
    else:
        fit_array, held_array = np.arange(len(examples)), np.zeros(0, dtype=np.intp)
    fit_rows, held = [int(i) for i in fit_array], [int(i) for i in held_array]
    fitted = [examples[i] for i in fit_rows]
    info = {**(trained or {}), "held_out_rows": len(held), "target_retention": target}
    router = fit(
        fitted, tiers, preset=preset, c=c, trained=info, seed=seed,
        groups=[groups[i] for i in fit_rows],
    )  # fmt: skip
    ladder = router.tiers
    full = [i for i in held if set(ladder) <= examples[i].outcomes.keys()]
    calibration = None
    thresholds: dict[Tier, float] = {}
    if len(full) >= MIN_CALIBRATION_ROWS:
        scores = _scores(router, [examples[i] for i in full])
        quality = np.array([[examples[i].outcomes[t] for t in ladder] for i in full])
        unit = np.asarray(prices if prices is not None else _default_prices(len(ladder)))
        cost = np.tile(unit, (len(full), 1))
        calibration = calibrate(
            scores, quality, cost, ladder, Target("retention", target), conservative=True
        )
        thresholds = calibration.thresholds
    router = replace(
        router,
        thresholds=thresholds,
        fingerprints=fingerprints(e.text for e in fitted),
        trained={**router.trained, "calibrated_rows": len(full)},
    )
    report = Holdout(
        len(fit_rows),
        len(held),
        _apgr(router, fitted),
        _apgr(router, [examples[i] for i in held]),
        calibration,
    )
    return router, report


def _default_prices(tiers: int) -> list[float]:
    """Relative per-call cost by tier when none is given: 1, 3, 5 (haiku, sonnet, opus)."""
    return [1.0, 3.0, 5.0][:tiers] if tiers <= 3 else list(range(1, tiers + 1))


def _scores(router: LearnedRouter, examples: Sequence[Example]) -> Floats:
    probabilities = np.array([router.probabilities(e.text, e.category) for e in examples])
    return rung_scores(probabilities)


def _apgr(router: LearnedRouter, examples: Sequence[Example]) -> float | None:
    """Cheapest↔top APGR of the cheapest rung's score on the rows that know both."""
    low, top = router.tiers[0], router.tiers[-1]
    rows = [e for e in examples if {low, top} <= e.outcomes.keys()]
    if len(rows) < 10:
        return None
    quality = np.array([[e.outcomes[low], e.outcomes[top]] for e in rows])
    if quality[:, 0].mean() == quality[:, 1].mean():
        return None
    score = _scores(router, rows)[:, 0]
    return pair_curve(score, quality, np.zeros_like(quality)).apgr()
