"""On the real labelled data (when the data folder is present): the baselines behave as the
field expects and a cross-validated learned router shows routing skill on gsm8k."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tierwise.analysis.evaluation.costs import cost_matrix
from tierwise.analysis.evaluation.dataset import load_dataset
from tierwise.analysis.evaluation.report import evaluate
from tierwise.analysis.training.train import cross_val_scores
from tierwise.core.policy import default_policy

DATA = Path(os.environ.get("TIERWISE_EVAL_DATA", Path(__file__).parents[3] / "shared" / "data"))
GSM8K = DATA / "gsm8k.jsonl"

pytestmark = pytest.mark.skipif(
    not GSM8K.is_file(), reason=f"no labelled data at {DATA} (set TIERWISE_EVAL_DATA)"
)


def test_gsm8k_baselines_and_cross_validated_router() -> None:
    dataset = load_dataset(GSM8K)
    scores = cross_val_scores(dataset, folds=5)
    result = evaluate(
        "learned",
        scores,
        np.array([0.5]),
        dataset.scores,
        cost_matrix(dataset, default_policy()),
        dataset=dataset.name,
        tiers=dataset.tiers,
        models={},
    )
    assert result.baselines["random"].apgr == pytest.approx(0.5, abs=0.03)
    assert result.baselines["oracle"].apgr > 1.05
    assert result.router.apgr > 0.57  # clearly above random even with 887 rows
    assert result.router.savings_at[0.95] is not None
    assert result.router.savings_at[0.95] > result.baselines["random"].savings_at[0.95]  # type: ignore[operator]


def test_default_operating_point_holds_on_rows_the_router_never_saw() -> None:
    """Train on part of gsm8k (which holds a quarter of it out to calibrate the shipped
    thresholds), then measure on a third part: the retention measured there lies within the
    claimed interval or within 2 points of the target; calibrate refuses the fitted rows."""
    from tierwise.analysis.evaluation.metrics import choose
    from tierwise.analysis.evaluation.routers import learned_scores
    from tierwise.analysis.training.holdout import train_with_holdout
    from tierwise.analysis.training.train import examples_from_dataset
    from tierwise.learned.fingerprint import seen

    dataset = load_dataset(GSM8K)
    order = np.random.default_rng(1).permutation(len(dataset))
    known, unseen = dataset.subset(order[:700]), dataset.subset(order[700:])
    examples = examples_from_dataset(known)
    router, report = train_with_holdout(
        examples, ["gsm8k"] * len(examples), dataset.tiers, target=0.95, share=0.25
    )
    assert report.calibration is not None
    claimed = report.calibration.retention
    scores = learned_scores(unseen, router, lambda: None)
    choice = choose(scores, np.array([router.thresholds[t] for t in dataset.tiers[:-1]]))
    q = unseen.scores
    measured = q[np.arange(len(q)), choice].mean() / q[:, -1].mean()
    assert claimed.low <= measured <= claimed.high or abs(measured - 0.95) <= 0.02
    fitted = seen(router.fingerprints, (r.prompt for r in known.rows))
    assert fitted.sum() == report.fit_rows  # every fitted row is known; held-out rows are not
    assert not seen(router.fingerprints, (r.prompt for r in unseen.rows)).any()
