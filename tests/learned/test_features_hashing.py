"""The hashed word features are exactly what the first implementation computed.

A trained model's weights are indexed by these hashes: a change in how they are computed, even
one that looks equivalent, would silently scramble every shipped and user-trained router.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from tierwise.learned.features import FeatureSpec, word_grams

CORPUS = Path(__file__).parents[1] / "data" / "corpus" / "coding_requests.jsonl"


def reference_word_grams(lower: str, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """The original loop: each bigram hashed from its own string."""
    counts: dict[int, int] = {}
    previous = "^"
    for word in re.findall(r"\w+", lower):
        h = zlib.crc32(word.encode()) % spec.dim
        counts[h] = counts.get(h, 0) + 1
        if spec.bigrams:
            h = zlib.crc32(f"{previous} {word}".encode()) % spec.dim
            counts[h] = counts.get(h, 0) + 1
        previous = word
    indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
    values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    return indices, values


@pytest.mark.parametrize("bigrams", [True, False])
def test_word_grams_match_the_reference_hash_for_hash(bigrams: bool) -> None:
    spec = FeatureSpec(bigrams=bigrams)
    prompts = [json.loads(line)["prompt"] for line in CORPUS.read_text().splitlines() if line]
    prompts += ["", "one", "日本語 のテキスト と English", "a a a b b", "über straße ñ"]
    for prompt in prompts:
        lower = prompt.lower()
        indices, values = word_grams(lower, spec)
        expected_indices, expected_values = reference_word_grams(lower, spec)
        assert indices.tolist() == expected_indices.tolist(), prompt[:60]
        assert np.array_equal(values, expected_values)
