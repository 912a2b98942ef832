"""Training the learned router: labels per rung, one logistic regression per rung, and
cross-validated scores for honest evaluation.

A row labels rung ``k`` (tier ``k`` against the tiers above it) with 1 when some higher tier's
answer scored better than tier ``k``'s, else 0. A row that says nothing about a rung (a dataset
without that tier, a log record that only shows one tier) is left out of that rung's fit, so
datasets with different ladders and logs can be combined.

Training uses scikit-learn (the ``learn`` extra): L2-regularised logistic regression with the
liblinear solver, which is fast on sparse hashed features. Inference needs only numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tierwise.errors import ConfigError, InputError
from tierwise.evaluation.dataset import Dataset
from tierwise.learned.features import FeatureSpec, featurize
from tierwise.learned.model import LearnedRouter, Rung
from tierwise.tiers import Tier

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

DEFAULT_C = 1.0  # inverse regularisation strength, chosen by 5-fold cross-validation


@dataclass(frozen=True, slots=True)
class Example:
    """A prompt and what is known about it: rung tier → 1 (a higher tier was needed) or 0."""

    text: str
    category: str | None
    labels: dict[Tier, int] = field(default_factory=dict)


def examples_from_dataset(dataset: Dataset) -> list[Example]:
    """One example per row, labelling every rung of the dataset's ladder."""
    out = []
    for row in dataset.rows:
        labels = {}
        for k, tier in enumerate(dataset.tiers[:-1]):
            best_above = max(row.scores[t] for t in dataset.tiers[k + 1 :])
            labels[tier] = int(best_above > row.scores[tier])
        out.append(Example(row.prompt, row.category, labels))
    return out


def feature_matrix(examples: Sequence[Example], spec: FeatureSpec) -> csr_matrix:
    """The sparse (n, dim) matrix of the examples' features."""
    from scipy.sparse import csr_matrix

    indices: list[npt.NDArray[np.intp]] = []
    values: list[npt.NDArray[np.float64]] = []
    pointers = [0]
    for example in examples:
        idx, val = featurize(example.text, example.category, spec)
        indices.append(idx)
        values.append(val)
        pointers.append(pointers[-1] + len(idx))
    return csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(pointers)),
        shape=(len(examples), spec.dim),
    )


def fit(
    examples: Sequence[Example],
    tiers: Sequence[Tier],
    *,
    spec: FeatureSpec | None = None,
    c: float = DEFAULT_C,
    trained: dict[str, Any] | None = None,
    matrix: csr_matrix | None = None,
) -> LearnedRouter:
    """Fit one logistic model per rung of ``tiers`` (cheapest first)."""
    spec = spec or FeatureSpec()
    ladder = tuple(sorted(set(tiers)))
    if len(ladder) < 2:
        raise InputError("training needs at least two tiers")
    if not examples:
        raise InputError("training needs at least one example")
    x = matrix if matrix is not None else feature_matrix(examples, spec)
    rungs = []
    for tier in ladder[:-1]:
        known = np.array([i for i, e in enumerate(examples) if tier in e.labels], dtype=np.intp)
        if len(known) == 0:
            raise InputError(f"no example says whether {tier.value} was enough")
        y = np.array([examples[i].labels[tier] for i in known])
        rungs.append(_fit_rung(tier, x[known], y, c, spec.dim))
    info = {"rows": len(examples), "c": c, **(trained or {})}
    return LearnedRouter(spec, ladder, tuple(rungs), info)


def _fit_rung(tier: Tier, x: csr_matrix, y: npt.NDArray[np.int_], c: float, dim: int) -> Rung:
    positives = int(y.sum())
    if positives in (0, len(y)):  # one class only: a constant is all the data supports
        rate = (positives + 1) / (len(y) + 2)
        return Rung(tier, math.log(rate / (1 - rate)), np.zeros(dim))
    model = _logistic(c)
    model.fit(x, y)
    return Rung(tier, float(model.intercept_[0]), np.asarray(model.coef_[0], dtype=np.float64))


def _logistic(c: float) -> Any:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ConfigError(
            "training a router needs scikit-learn: pip install 'tierwise[learn]'"
        ) from None
    return LogisticRegression(C=c, solver="liblinear")


def cross_val_scores(
    dataset: Dataset,
    *,
    folds: int = 5,
    seed: int = 0,
    spec: FeatureSpec | None = None,
    c: float = DEFAULT_C,
) -> npt.NDArray[np.float64]:
    """Out-of-fold rung scores, (n, rungs): each row scored by a model that never saw it."""
    if folds < 2 or folds > len(dataset):
        raise InputError(f"--cv must be between 2 and the number of rows, got {folds}")
    spec = spec or FeatureSpec()
    examples = examples_from_dataset(dataset)
    x = feature_matrix(examples, spec)
    order = np.random.default_rng(seed).permutation(len(examples))
    scores = np.zeros((len(examples), len(dataset.tiers) - 1))
    for test in np.array_split(order, folds):
        train = np.setdiff1d(order, test)
        router = fit([examples[i] for i in train], dataset.tiers, spec=spec, c=c, matrix=x[train])
        for k, rung in enumerate(router.rungs):
            z = rung.bias + x[test] @ rung.weights
            scores[test, k] = 1 / (1 + np.exp(-z))
    return scores
