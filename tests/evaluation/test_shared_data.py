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
