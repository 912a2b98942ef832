"""A plain TF-IDF + logistic regression router: the floor the learned router must clear.

Word unigrams and bigrams (min_df 2, sublinear tf, idf), one logistic regression of "the top
tier scores better than the cheapest" (RouteLLM's label), scored by its probability. Nothing
tuned, so a learned router that falls below it on a dataset it never saw is memorising.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tierwise.analysis.evaluation.dataset import Dataset
from tierwise.analysis.evaluation.metrics import Floats
from tierwise.core.errors import ConfigError, InputError


class TfidfBaseline:
    """Fitted on datasets' cheapest↔top pairs; scores any prompt (higher: needs the top)."""

    def __init__(self, datasets: Sequence[Dataset], c: float = 1.0) -> None:
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.linear_model import LogisticRegression
        except ImportError:
            raise ConfigError("the TF-IDF baseline needs scikit-learn: pip install "
                              "'tierwise[learn]'") from None  # fmt: skip
        texts = [row.prompt for d in datasets for row in d.rows]
        labels = np.concatenate([d.scores[:, -1] > d.scores[:, 0] for d in datasets])
        if len(set(labels.tolist())) < 2:
            raise InputError("the TF-IDF baseline needs rows where the top tier does better")
        self._vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self._model = LogisticRegression(C=c, max_iter=1000)
        self._model.fit(self._vectorizer.fit_transform(texts), labels.astype(int))

    def scores(self, dataset: Dataset) -> Floats:
        """(n, rungs) scores: the same probability on every rung of the dataset."""
        p = self._model.predict_proba(self._vectorizer.transform([r.prompt for r in dataset.rows]))
        return np.tile(np.asarray(p[:, 1], dtype=np.float64)[:, None], (1, len(dataset.tiers) - 1))
