"""Short fingerprints of prompts, so a router file can say which rows it was fitted on.

A router scored on its own training rows looks far better than it is (it memorises), and
thresholds calibrated there do not hold on new prompts. The file keeps a 32-bit hash of every
training prompt's normalised text (lower case, whitespace collapsed): 4 bytes a row, no text.
``calibrate`` and ``eval`` compare a dataset's rows against them. Two different prompts share a
fingerprint with probability 2⁻³², so a few false matches in millions of comparisons at most.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

Fingerprints = npt.NDArray[np.uint32]


def fingerprint(text: str) -> int:
    """The prompt's 32-bit fingerprint (first 4 bytes of BLAKE2b of the normalised text)."""
    normal = " ".join(text.lower().split())
    return int.from_bytes(hashlib.blake2b(normal.encode(), digest_size=4).digest(), "little")


def fingerprints(texts: Iterable[str]) -> Fingerprints:
    """Sorted, distinct fingerprints of ``texts``."""
    return np.unique(np.fromiter((fingerprint(t) for t in texts), dtype=np.uint32))


def encode(prints: Fingerprints) -> str:
    """The file form: base64 of the sorted little-endian uint32s."""
    return base64.b64encode(np.sort(prints).astype("<u4").tobytes()).decode("ascii")


def decode(text: str) -> Fingerprints:
    """The fingerprints from their file form; ``ValueError`` when it is not one."""
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % 4:
        raise ValueError("not a whole number of 4-byte fingerprints")
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def seen(prints: Fingerprints, texts: Iterable[str]) -> npt.NDArray[np.bool_]:
    """For each of ``texts``: is its fingerprint among ``prints`` (a training row)?"""
    mine = np.fromiter((fingerprint(t) for t in texts), dtype=np.uint32)
    return np.isin(mine, prints)
