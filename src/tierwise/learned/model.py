"""The learned router as plain data: a JSON file, loaded safely, scored in-process with numpy.

The file holds the feature settings (and the word idf weights when used), the tier ladder it was
trained on and, for every tier, a *head*: a logistic model of the probability that the tier
answers the prompt well (a bias, the non-zero weights of the hashed features, and one weight per
difficulty signal). Rung ``k``'s score is about ``max(0, max over tiers j above k of P_j − P_k)``:
the expected quality gained by going up from tier ``k`` (see ``rung_scores``). A prompt goes to
the cheapest tier whose rung score is below that rung's threshold. Loading
validates every field (shapes, ranges, finite numbers) with pydantic and never executes anything
from the file: no pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tierwise.core.errors import InputError
from tierwise.core.tiers import Tier
from tierwise.learned.features import FeatureSpec, featurize
from tierwise.learned.fingerprint import Fingerprints, decode, encode
from tierwise.learned.signals import SIGNALS

FORMAT = "tierwise-learned-router"
VERSION = 2
MAX_FILE_BYTES = 200_000_000  # a router file is some MB; refuse anything absurd before parsing
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Sparse(_Strict):
    indices: list[int]
    values: list[FiniteFloat]

    @model_validator(mode="after")
    def _same_length(self) -> _Sparse:
        if len(self.indices) != len(self.values):
            raise ValueError(
                f"indices has {len(self.indices)} entries but values has {len(self.values)}"
            )
        if len(set(self.indices)) != len(self.indices):
            raise ValueError("indices must not repeat")
        return self


class FeaturesFile(_Strict):
    kind: Literal["hashed-text"] = "hashed-text"
    dim: int = Field(ge=256, le=1 << 24)
    bigrams: bool
    chars: tuple[int, int] | None
    category_weight: FiniteFloat = Field(ge=0)
    max_chars: int = Field(gt=0)
    signals: list[str]

    @model_validator(mode="after")
    def _known(self) -> FeaturesFile:
        if self.chars is not None and not 1 <= self.chars[0] <= self.chars[1] <= 8:
            raise ValueError("chars must be [shortest, longest] n-gram length within 1..8")
        if self.signals and tuple(self.signals) != SIGNALS:
            raise ValueError(
                "signals differ from this version's difficulty signals: retrain the router"
            )
        return self


class IdfFile(_Sparse):
    """Per-bucket word weights: idf, and 0 for buckets too rare in training to trust."""

    default: FiniteFloat = Field(ge=0)
    values: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]]


class HeadFile(_Sparse):
    tier: Tier
    bias: FiniteFloat
    signal_weights: list[FiniteFloat]


class RouterFile(_Strict):
    format: Literal["tierwise-learned-router"]
    version: Literal[2]
    features: FeaturesFile
    idf: IdfFile | None = None
    tiers: list[Tier] = Field(min_length=2)
    heads: list[HeadFile]
    trained: dict[str, Any] = Field(default_factory=dict)
    # the default operating point, calibrated by ``train`` on rows it did not fit
    thresholds: dict[Tier, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    fingerprints: str = ""  # base64 uint32 hashes of the training prompts (``fingerprint.py``)

    @model_validator(mode="after")
    def _shapes(self) -> RouterFile:
        try:
            decode(self.fingerprints)
        except ValueError as exc:
            raise ValueError(f"fingerprints: {exc}") from None
        unknown = [t.value for t in self.thresholds if t not in self.tiers[:-1]]
        if unknown:
            raise ValueError(f"thresholds: {', '.join(unknown)} is not a rung of this router")
        if list(self.tiers) != sorted(set(self.tiers)):
            raise ValueError("tiers must be distinct and listed cheapest first")
        if [h.tier for h in self.heads] != list(self.tiers):
            raise ValueError("heads must be one per tier, in ladder order")
        dim = self.features.dim
        for where, sparse in [("idf", self.idf)] + [
            (f"heads.{n}", h) for n, h in enumerate(self.heads)
        ]:
            bad = [i for i in sparse.indices if not 0 <= i < dim] if sparse else []
            if bad:
                raise ValueError(f"{where}.indices: {bad[0]} is outside 0..{dim - 1}")
        for number, head in enumerate(self.heads):
            if len(head.signal_weights) != len(self.features.signals):
                raise ValueError(
                    f"heads.{number}.signal_weights: {len(head.signal_weights)} weights for "
                    f"{len(self.features.signals)} signals"
                )
        return self


@dataclass(frozen=True)
class Rung:
    """A step of the ladder: going up from ``tier`` to a tier above it."""

    tier: Tier


@dataclass(frozen=True)
class Heads:
    """Every tier's logistic model of 'this tier answers well', stacked for one gather."""

    bias: npt.NDArray[np.float64]  # (tiers,)
    weights: npt.NDArray[np.float64]  # (tiers, dim)
    signal_weights: npt.NDArray[np.float64]  # (tiers, signals)


@dataclass(frozen=True)
class LearnedRouter:
    """A trained router: each tier's chance of answering well, the rung scores those give, and
    the tier the scores choose."""

    spec: FeatureSpec
    tiers: tuple[Tier, ...]
    heads: Heads
    idf: npt.NDArray[np.float64] | None
    trained: dict[str, Any]
    thresholds: dict[Tier, float] = field(default_factory=dict)  # default operating point
    fingerprints: Fingerprints = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))

    @property
    def rungs(self) -> tuple[Rung, ...]:
        """The rungs, cheapest first: one per tier but the top."""
        return tuple(Rung(t) for t in self.tiers[:-1])

    def probabilities(self, text: str, category: str | None = None) -> npt.NDArray[np.float64]:
        """Each tier's probability of answering the prompt well, cheapest first."""
        f = featurize(text, category, self.spec, self.idf)
        z = self.heads.bias + self.heads.weights[:, f.indices] @ f.values
        if len(f.dense):
            z = z + self.heads.signal_weights @ f.dense
        result: npt.NDArray[np.float64] = np.exp(-np.logaddexp(0.0, -z))  # sigmoid, no overflow
        return result

    def scores(self, text: str, category: str | None = None) -> tuple[float, ...]:
        """Each rung's score: the expected quality gained by going up from it (at least 0)."""
        return tuple(float(s) for s in rung_scores(self.probabilities(text, category)[None, :])[0])

    def choose(self, scores: tuple[float, ...], thresholds: dict[Tier, float]) -> Tier:
        """The cheapest tier whose rung score is under its threshold (``thresholds``, else the
        router's calibrated default, else 0.5), else the top."""
        for rung, score in zip(self.rungs, scores, strict=True):
            if score < thresholds.get(rung.tier, self.thresholds.get(rung.tier, 0.5)):
                return rung.tier
        return self.tiers[-1]

    def to_json(self) -> str:
        """The file form (weights rounded to 5 significant digits; zeros left out)."""
        heads = []
        for k, tier in enumerate(self.tiers):
            row = self.heads.weights[k]
            nonzero = np.nonzero(row)[0]
            heads.append(
                {
                    "tier": tier.value,
                    "bias": _round(self.heads.bias[k]),
                    "indices": nonzero.tolist(),
                    "values": [_round(w) for w in row[nonzero]],
                    "signal_weights": [_round(w) for w in self.heads.signal_weights[k]],
                }
            )
        idf = None
        if self.idf is not None:
            values, counts = np.unique(self.idf, return_counts=True)
            default = float(values[np.argmax(counts)])  # the commonest value: 0 or the max idf
            special = np.nonzero(self.idf != default)[0]
            idf = {
                "default": _round(default),
                "indices": special.tolist(),
                "values": [_round(v) for v in self.idf[special]],
            }
        spec = self.spec
        data = {
            "format": FORMAT,
            "version": VERSION,
            "features": {
                "kind": "hashed-text",
                "dim": spec.dim,
                "bigrams": spec.bigrams,
                "chars": list(spec.chars) if spec.chars else None,
                "category_weight": spec.category_weight,
                "max_chars": spec.max_chars,
                "signals": list(SIGNALS) if spec.signals else [],
            },
            "idf": idf,
            "tiers": [t.value for t in self.tiers],
            "heads": heads,
            "trained": self.trained,
            "thresholds": {t.value: _round(v) for t, v in self.thresholds.items()},
            "fingerprints": encode(self.fingerprints),
        }
        return json.dumps(data, separators=(",", ":"))

    def save(self, path: Path) -> None:
        """Write the router file."""
        path.write_text(self.to_json(), encoding="utf-8")


TIE_BREAK = 1e-3


def rung_scores(probabilities: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(n, tiers) probabilities of answering well → (n, rungs) scores in [0, 1].

    The score is the expected quality gained by going up, ``g = max_j P_j − P_k``, clipped at 0
    so that it reads as a share of quality, plus ``TIE_BREAK × (1 + g) / 2`` so that prompts
    where the cheaper tier is expected to do better keep their order (worth 0.001 APGR on mmlu)
    instead of tying at 0. Ranking by expected gain, rather than by "a higher tier did better",
    also uses what a row says when the higher tier fails."""
    tiers = probabilities.shape[1]
    gain = np.stack(
        [probabilities[:, k + 1 :].max(axis=1) - probabilities[:, k] for k in range(tiers - 1)],
        axis=1,
    )
    result: npt.NDArray[np.float64] = (1 - TIE_BREAK) * np.maximum(gain, 0.0) + TIE_BREAK * (
        1 + gain
    ) / 2
    return result


def load_router(path: Path | str) -> LearnedRouter:
    """Read and validate a router file; ``InputError`` names the file and the bad field."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes: not a router file")
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read router file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a router file (not UTF-8 text)") from None
    return parse_router(raw, str(path))


def parse_router(raw: str, source: str = "router") -> LearnedRouter:
    """A router from its JSON text."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and data.get("version") == 1:
        raise InputError(
            f"{source}: version: 1 is the older one-model-per-rung format: retrain the router "
            "with `tierwise train`"
        )
    try:
        parsed = RouterFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "router"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"{source}: {where}: {message}") from None
    f = parsed.features
    spec = FeatureSpec(
        dim=f.dim,
        bigrams=f.bigrams,
        idf=parsed.idf is not None,
        chars=f.chars,
        category_weight=f.category_weight,
        max_chars=f.max_chars,
        signals=bool(f.signals),
    )
    idf = None
    if parsed.idf is not None:
        idf = np.full(spec.dim, parsed.idf.default)
        idf[np.asarray(parsed.idf.indices, dtype=np.intp)] = parsed.idf.values
    weights = np.zeros((len(parsed.heads), spec.dim))
    for k, head in enumerate(parsed.heads):
        weights[k, np.asarray(head.indices, dtype=np.intp)] = head.values
    heads = Heads(
        bias=np.array([h.bias for h in parsed.heads]),
        weights=weights,
        signal_weights=np.array([h.signal_weights for h in parsed.heads]).reshape(
            len(parsed.heads), len(f.signals)
        ),
    )
    return LearnedRouter(
        spec,
        tuple(parsed.tiers),
        heads,
        idf,
        dict(parsed.trained),
        dict(parsed.thresholds),
        decode(parsed.fingerprints),
    )


def _round(value: float) -> float:
    return float(f"{float(value):.5g}")
