"""Features: hashed word and character n-grams, the category, and the difficulty signals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tierwise.learned.features import FeatureSpec, featurize
from tierwise.learned.signals import SIGNALS, signals

SPEC = FeatureSpec(dim=1 << 12)


def _vector(text: str, spec: FeatureSpec = SPEC, category: str | None = None) -> np.ndarray:
    f = featurize(text, category, spec)
    dense = np.zeros(spec.dim)
    np.add.at(dense, f.indices, f.values)
    return dense


def test_same_text_same_features_and_indices_in_range() -> None:
    a = featurize("Tom has 3 apples and buys 12 more.", "math", SPEC)
    b = featurize("Tom has 3 apples and buys 12 more.", "math", SPEC)
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.values, b.values)
    assert a.indices.min() >= 0
    assert a.indices.max() < SPEC.dim
    assert not np.array_equal(_vector("Tom has 3 apples"), _vector("Tom has 4 apples"))


def test_blocks_are_unit_norm_and_category_adds_one_feature() -> None:
    words_only = FeatureSpec(dim=1 << 12, chars=None, signals=False)
    assert np.linalg.norm(_vector("one two two three", words_only)) == pytest.approx(1.0)
    both = _vector("one two two three")
    assert np.linalg.norm(both) == pytest.approx(math.sqrt(2), abs=0.05)  # two unit blocks
    with_category = _vector("one two two three", category="Law")
    assert (with_category - both).sum() == pytest.approx(1.0)
    assert np.array_equal(with_category, _vector("ONE two two three", category="law"))


def test_character_ngrams_share_pieces_of_unseen_words() -> None:
    chars_only = FeatureSpec(dim=1 << 16, bigrams=False, signals=False)
    a, b, c = (_vector(t, chars_only) for t in ("zqx1", "zqx2", "abcd"))
    assert a @ b > a @ c


def test_idf_weights_word_ngrams() -> None:
    spec = FeatureSpec(dim=1 << 12, chars=None, signals=False, bigrams=False)
    idf = np.ones(spec.dim)
    plain = featurize("common rare", None, spec, idf)
    idf[plain.indices[1]] = 3.0
    weighted = featurize("common rare", None, spec, idf)
    assert weighted.values[1] == pytest.approx(3 * weighted.values[0])
    assert np.linalg.norm(weighted.values) == pytest.approx(1.0)


def test_difficulty_signals_of_a_multiple_choice_question() -> None:
    text = "Which is NOT a prime?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:"
    values = dict(zip(SIGNALS, signals(text, 3000), strict=True))
    assert values["log_options"] == pytest.approx(math.log1p(4))
    assert values["log_numbers"] == pytest.approx(math.log1p(4))
    assert values["numeric_option_share"] == 1.0
    assert values["log_negations"] == pytest.approx(math.log1p(1))
    assert values["log_mean_option_chars"] == pytest.approx(math.log1p(1.25))
    assert values["log_stem_chars"] == pytest.approx(math.log1p(len("Which is NOT a prime?")))
    assert values["of_the_above"] == 0.0


def test_signals_read_only_the_first_characters_but_count_the_length() -> None:
    long = "word 12 " * 2000
    values = dict(zip(SIGNALS, signals(long, 100), strict=True))
    assert values["log_chars"] == pytest.approx(math.log1p(len(long)))
    assert values["log_numbers"] == pytest.approx(
        math.log1p(100 // 8)
    )  # 12 × "word 12 ", then "word"
