"""Features of a prompt for the learned router: hashed word unigrams and bigrams, plus the
prompt's category.

Hashing (CRC-32, stable across processes and platforms) needs no vocabulary in the model file
and handles unseen words. Counts are L2-normalised so long prompts do not dominate; the category
(the dataset's subject, or at run time the request's task type or domain hint) is one extra
feature of fixed weight. Only the first ``max_chars`` characters are read, which bounds the
time per prompt. Training and inference call the same ``featurize``, so they cannot drift apart.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How a prompt becomes a sparse vector; saved with the model."""

    dim: int = 1 << 18
    bigrams: bool = True
    category_weight: float = 1.0
    max_chars: int = 3000


def featurize(
    text: str, category: str | None, spec: FeatureSpec
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Indices and values of the prompt's non-zero features."""
    dim = spec.dim
    counts: dict[int, int] = {}
    previous = "^"
    crc = zlib.crc32
    for word in _WORD.findall(text[: spec.max_chars].lower()):
        h = crc(word.encode()) % dim
        counts[h] = counts.get(h, 0) + 1
        if spec.bigrams:
            h = crc(f"{previous} {word}".encode()) % dim
            counts[h] = counts.get(h, 0) + 1
        previous = word
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    values = {k: v / norm for k, v in counts.items()}
    if category and spec.category_weight:
        h = crc(f"category={category.lower()}".encode()) % dim
        values[h] = values.get(h, 0.0) + spec.category_weight
    return (
        np.fromiter(values.keys(), dtype=np.intp, count=len(values)),
        np.fromiter(values.values(), dtype=np.float64, count=len(values)),
    )
