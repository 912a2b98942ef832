"""Training the learned router: one logistic head per tier, feature settings chosen by nested
cross-validation, and cross-validated scores for honest evaluation.

Each tier's head estimates the probability that the tier answers a prompt well; a row teaches
the heads of the tiers whose outcome it knows (a dataset with a smaller ladder, a log record that
shows one tier), so datasets with different ladders and logs combine. A fractional score ``s``
counts as a success of weight ``s`` and a failure of weight ``1 − s``. Rung scores follow from
the heads (``model.rung_scores``): ranking prompts by expected quality gain, rather than by
"a higher tier did better", also uses what a row says when the higher tier fails (measured: +0.01
APGR on gsm8k and mmlu).

Two feature presets are compared by cross-validation *on the training rows only*: word n-grams
weighted by idf (best on mmlu) and word plus character n-grams without idf (best on gsm8k). The
idf weights and the standardisation of the difficulty signals are learned on the training rows
and folded into the saved weights, so inference needs only numpy.

Training uses scikit-learn (the ``learn`` extra): L2-regularised logistic regression with the
liblinear solver, which is fast on sparse hashed features.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tierwise.analysis.evaluation.dataset import Dataset
from tierwise.analysis.evaluation.metrics import pair_curve
from tierwise.core.errors import ConfigError, InputError
from tierwise.core.tiers import Tier
from tierwise.learned.features import FeatureSpec, other_grams, word_grams
from tierwise.learned.model import Heads, LearnedRouter, rung_scores
from tierwise.learned.signals import signals

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

DEFAULT_C = 1.0  # inverse regularisation strength (0.5–2 measured within ±0.005 APGR)
C_GRID = (0.1, 0.5)  # chosen by validation on rows (or datasets) the candidate did not fit
SELECT_FOLDS = 3
MIN_DF = 3  # a word bucket seen in fewer training prompts only memorises them: weight 0
PRUNE = 1e-3  # weights smaller than this change no decision; dropping them keeps files small


@dataclass(frozen=True, slots=True)
class Preset:
    """Feature settings, and the weight of the standardised signals against the unit-norm text
    (a training setting: it is folded into the saved weights)."""

    spec: FeatureSpec
    signal_scale: float
    min_df: int = MIN_DF


DIM = 1 << 14  # hashed buckets: 2¹⁹ held 11 MB of weights, mostly one-prompt n-grams
PRESETS: dict[str, Preset] = {
    "words-idf": Preset(FeatureSpec(dim=DIM, idf=True, chars=None), signal_scale=0.3),
    "words-chars": Preset(FeatureSpec(dim=DIM, idf=False, chars=(2, 4)), signal_scale=0.1),
}
Floats = npt.NDArray[np.float64]
Rows = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Example:
    """A prompt and what is known about it: tier → score of that tier's answer, in [0, 1]."""

    text: str
    category: str | None
    outcomes: dict[Tier, float] = field(default_factory=dict)


def examples_from_dataset(dataset: Dataset) -> list[Example]:
    """One example per row, with every tier's score."""
    return [Example(row.prompt, row.category, dict(row.scores)) for row in dataset.rows]


@dataclass(frozen=True)
class Blocks:
    """The examples' features under one spec, built once and sliced per fold."""

    spec: FeatureSpec
    signal_scale: float
    min_df: int
    words: csr_matrix  # sublinear word n-gram counts, not normalised (idf is per fold)
    other: csr_matrix  # normalised character n-grams and the category
    dense: Floats  # raw difficulty signals, (n, signals)

    @classmethod
    def build(cls, examples: Sequence[Example], preset: Preset) -> Blocks:
        """Featurise every example (the same functions inference calls)."""
        spec = preset.spec
        words, other, dense = [], [], []
        for example in examples:
            lower = example.text[: spec.max_chars].lower()
            words.append(word_grams(lower, spec))
            other.append(other_grams(lower, example.category, spec))
            dense.append(signals(example.text, spec.max_chars) if spec.signals else np.zeros(0))
        return cls(
            spec,
            preset.signal_scale,
            preset.min_df,
            _csr(words, spec.dim),
            _csr(other, spec.dim),
            np.array(dense),
        )

    def design(self, rows: Rows, idf: Floats | None, mean: Floats, std: Floats) -> csr_matrix:
        """The model's input for ``rows``: idf-weighted normalised words, the other block and
        the standardised, scaled signals."""
        from scipy.sparse import csr_matrix, diags, hstack
        from sklearn.preprocessing import normalize

        words = self.words[rows]
        if idf is not None:
            words = words @ diags(idf)
        dense = (self.dense[rows] - mean) / std * self.signal_scale
        text = normalize(words) + self.other[rows]  # one hashed space, as in ``featurize``
        return csr_matrix(hstack([text, csr_matrix(dense)]))


def _csr(parts: list[tuple[npt.NDArray[np.intp], Floats]], dim: int) -> csr_matrix:
    """One row per (indices, values) pair."""
    from scipy.sparse import csr_matrix

    pointers = np.cumsum([0] + [len(idx) for idx, _ in parts])
    matrix = csr_matrix(
        (
            np.concatenate([v for _, v in parts]) if parts else np.zeros(0),
            np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, dtype=np.intp),
            pointers,
        ),
        shape=(len(parts), dim),
    )
    matrix.sum_duplicates()  # a character n-gram may share a bucket with the category
    return matrix


@dataclass(frozen=True)
class _Trained:
    heads: Heads
    idf: Floats | None


def _train(
    blocks: Blocks, rows: Rows, examples: Sequence[Example], ladder: tuple[Tier, ...], c: float
) -> _Trained:
    """Fit every tier's head on ``rows``; idf and signal scaling come from those rows only."""
    spec = blocks.spec
    idf = _idf(blocks.words[rows], spec.idf, blocks.min_df)
    mean = blocks.dense[rows].mean(axis=0) if len(rows) else np.zeros(blocks.dense.shape[1])
    std = blocks.dense[rows].std(axis=0) if len(rows) else np.ones(blocks.dense.shape[1])
    std = np.where(std > 1e-9 * (1 + np.abs(mean)), std, 1.0)  # constant: no scaling to fold
    x = blocks.design(rows, idf, mean, std)
    signals_count = blocks.dense.shape[1]
    bias = np.zeros(len(ladder))
    weights = np.zeros((len(ladder), spec.dim))
    signal_weights = np.zeros((len(ladder), signals_count))
    for k, tier in enumerate(ladder):
        outcomes = [examples[r].outcomes.get(tier) for r in rows]
        b, w = _fit_head(tier, x, outcomes, c)
        folded = w[spec.dim :] * blocks.signal_scale / std  # standardisation folded in
        bias[k] = b - float(folded @ mean)
        weights[k] = np.where(np.abs(w[: spec.dim]) >= PRUNE, w[: spec.dim], 0.0)
        signal_weights[k] = folded
    return _Trained(Heads(bias, weights, signal_weights), idf)


def _fit_head(
    tier: Tier, x: csr_matrix, outcomes: list[float | None], c: float
) -> tuple[float, Floats]:
    """Bias and weights of one tier's head, from the rows whose outcome for it is known."""
    from scipy.sparse import vstack

    known = np.array([i for i, s in enumerate(outcomes) if s is not None], dtype=np.intp)
    if len(known) == 0:
        raise InputError(f"no example says how well {tier.value} answered")
    score = np.array([outcomes[i] for i in known], dtype=float)
    success, failure = known[score > 0], known[score < 1]
    if len(success) == 0 or len(failure) == 0:  # one class: a constant is all the data supports
        rate = (float(score.sum()) + 1) / (len(score) + 2)
        return math.log(rate / (1 - rate)), np.zeros(x.shape[1])
    weight = np.r_[score[score > 0], 1 - score[score < 1]]
    y = np.r_[np.ones(len(success)), np.zeros(len(failure))]
    model = _logistic(c)
    model.fit(vstack([x[success], x[failure]]).tocsr(), y, sample_weight=weight)
    return float(model.intercept_[0]), np.asarray(model.coef_[0], dtype=np.float64)


def _logistic(c: float) -> Any:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ConfigError(
            "training a router needs scikit-learn: pip install 'tierwise[learn]'"
        ) from None
    return LogisticRegression(C=c, solver="liblinear")


def _idf(words: csr_matrix, idf: bool, min_df: int) -> Floats | None:
    """Per-bucket word weights: smoothed idf, ln((1 + n) / (1 + df)) + 1, or 1 without idf;
    0 for buckets in fewer than ``min_df`` training prompts (``None``: all 1)."""
    if not idf and min_df <= 1:
        return None
    df = np.bincount(words.indices, minlength=words.shape[1])
    result: Floats = np.log((1 + words.shape[0]) / (1 + df)) + 1 if idf else np.ones(len(df))
    return np.where(df >= min_df, result, 0.0)


def _probabilities(blocks: Blocks, rows: Rows, trained: _Trained) -> Floats:
    """(len(rows), tiers) probabilities, computed as ``LearnedRouter.probabilities`` does."""
    from scipy.sparse import diags
    from sklearn.preprocessing import normalize

    words = blocks.words[rows]
    if trained.idf is not None:
        words = words @ diags(trained.idf)
    sparse = normalize(words) + blocks.other[rows]
    heads = trained.heads
    z = heads.bias + sparse @ heads.weights.T + blocks.dense[rows] @ heads.signal_weights.T
    result: Floats = np.exp(-np.logaddexp(0.0, -z))
    return result


def _ladder(examples: Sequence[Example], tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    ladder = tuple(sorted(set(tiers)))
    if len(ladder) < 2:
        raise InputError("training needs at least two tiers")
    if not examples:
        raise InputError("training needs at least one example")
    return ladder


def fit(
    examples: Sequence[Example],
    tiers: Sequence[Tier],
    *,
    preset: Preset | None = None,
    c: float | Sequence[float] = DEFAULT_C,
    trained: dict[str, Any] | None = None,
    seed: int = 0,
    groups: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> LearnedRouter:
    """Fit a head per tier of ``tiers``; without ``preset`` the preset, and with several
    ``c`` the regularisation, that validate best on rows they did not fit are used (leave one
    dataset out when ``groups`` names two or more, else inner cross-validation). ``progress``
    is told each step as it starts."""
    step = progress or _silent
    ladder = _ladder(examples, tiers)
    everything = np.arange(len(examples), dtype=np.intp)
    step(f"features of {len(examples)} examples")
    blocks = {name: Blocks.build(examples, p) for name, p in _candidates(preset).items()}
    cs = (c,) if isinstance(c, int | float) else tuple(c)
    step("choosing the feature preset and regularisation (validation)")
    name, chosen = _select(blocks, everything, examples, ladder, cs, seed, groups)
    step(f"fitting {len(ladder)} heads ({name})")
    result = _train(blocks[name], everything, examples, ladder, chosen)
    info = {"rows": len(examples), "c": chosen, "features": name, **(trained or {})}
    return LearnedRouter(blocks[name].spec, ladder, result.heads, result.idf, info)


def _silent(step: str) -> None:
    """No progress report."""


def _candidates(preset: Preset | None) -> dict[str, Preset]:
    if preset is None:
        return dict(PRESETS)
    return {next((n for n, p in PRESETS.items() if p == preset), "given"): preset}


def _select(
    blocks: dict[str, Blocks],
    rows: Rows,
    examples: Sequence[Example],
    ladder: tuple[Tier, ...],
    cs: tuple[float, ...],
    seed: int,
    groups: Sequence[str] | None = None,
) -> tuple[str, float]:
    """The (preset, C) with the best validated APGR on the cheapest↔top pair, measured on
    ``rows`` only (the first candidate when the rows cannot tell). With two or more
    ``groups`` (datasets), each is scored by a model fitted on the others: what generalises
    to a new kind of prompt wins, not what memorises one."""
    candidates = [(name, c) for name in blocks for c in cs]
    cheapest, top = ladder[0], ladder[-1]
    both = np.array(
        [r for r in rows if {cheapest, top} <= examples[r].outcomes.keys()], dtype=np.intp
    )
    if len(candidates) == 1 or len(both) < 10 * SELECT_FOLDS:
        return candidates[0]
    quality = np.array([[examples[r].outcomes[t] for t in (cheapest, top)] for r in both])
    if quality[:, 1].mean() == quality[:, 0].mean():
        return candidates[0]
    labels = np.array([groups[r] for r in both]) if groups is not None else None
    if labels is not None and len(set(labels)) >= 2:
        splits = [
            (np.nonzero(labels != g)[0], np.nonzero(labels == g)[0]) for g in sorted(set(labels))
        ]
    else:
        splits = _folds(len(both), SELECT_FOLDS, seed)
    best, best_apgr = candidates[0], -math.inf
    for name, c in candidates:
        apgrs = []
        for train, test in splits:
            try:
                fitted = _train(blocks[name], both[train], examples, ladder, c)
            except InputError:  # a middle tier unseen in this fold: the rows cannot tell
                return candidates[0]
            p = _probabilities(blocks[name], both[test], fitted)
            apgrs.append(pair_curve(p[:, -1] - p[:, 0], quality[test], quality[test] * 0).apgr())
        apgr = float(np.mean(apgrs))
        if apgr > best_apgr:
            best, best_apgr = (name, c), apgr
    return best


def _folds(n: int, folds: int, seed: int) -> list[tuple[Rows, Rows]]:
    order = np.random.default_rng(seed).permutation(n)
    return [(np.setdiff1d(order, test), test) for test in np.array_split(order, folds)]


def cross_val_scores(
    dataset: Dataset,
    *,
    folds: int = 5,
    seed: int = 0,
    preset: Preset | None = None,
    c: float | Sequence[float] = DEFAULT_C,
    progress: Callable[[str], None] | None = None,
) -> Floats:
    """Out-of-fold rung scores, (n, rungs): each row scored by a model that never saw it, with
    the feature preset chosen by cross-validation inside that model's training rows.
    ``progress`` is told each fold as it starts."""
    step = progress or _silent
    if folds < 2 or folds > len(dataset):
        raise InputError(f"--cv must be between 2 and the number of rows, got {folds}")
    examples = examples_from_dataset(dataset)
    ladder = _ladder(examples, dataset.tiers)
    blocks = {name: Blocks.build(examples, p) for name, p in _candidates(preset).items()}
    cs = (c,) if isinstance(c, int | float) else tuple(c)
    probabilities = np.zeros((len(examples), len(ladder)))
    for fold, (train, test) in enumerate(_folds(len(examples), folds, seed), start=1):
        step(f"{dataset.name}: fold {fold} of {folds}")
        name, chosen = _select(blocks, train, examples, ladder, cs, seed)
        fitted = _train(blocks[name], train, examples, ladder, chosen)
        probabilities[test] = _probabilities(blocks[name], test, fitted)
    return rung_scores(probabilities)
