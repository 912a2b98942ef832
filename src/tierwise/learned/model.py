"""The learned router as plain data: a JSON file, loaded safely, scored in-process with numpy.

The file holds the feature settings, the tier ladder it was trained on and, for every rung
(every tier but the top), a bias and the non-zero weights of a logistic model. Rung ``k``'s
score is the probability that some tier above ``k`` answers better than tier ``k``; a prompt
goes to the cheapest tier whose rung score is below that rung's threshold. Loading validates
every field (shapes, ranges, finite numbers) with pydantic and never executes anything from the
file: no pickle.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tierwise.errors import InputError
from tierwise.learned.features import FeatureSpec, featurize
from tierwise.tiers import Tier

FORMAT = "tierwise-learned-router"
MAX_FILE_BYTES = 200_000_000  # a router file is a few MB; refuse anything absurd before parsing
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeaturesFile(_Strict):
    kind: Literal["hashed-words"] = "hashed-words"
    dim: int = Field(ge=256, le=1 << 24)
    bigrams: bool
    category_weight: FiniteFloat = Field(ge=0)
    max_chars: int = Field(gt=0)


class RungFile(_Strict):
    tier: Tier
    bias: FiniteFloat
    indices: list[int]
    weights: list[FiniteFloat]

    @model_validator(mode="after")
    def _same_length(self) -> RungFile:
        if len(self.indices) != len(self.weights):
            raise ValueError(
                f"indices has {len(self.indices)} entries but weights has {len(self.weights)}"
            )
        if len(set(self.indices)) != len(self.indices):
            raise ValueError("indices must not repeat")
        return self


class RouterFile(_Strict):
    format: Literal["tierwise-learned-router"]
    version: Literal[1]
    features: FeaturesFile
    tiers: list[Tier] = Field(min_length=2)
    rungs: list[RungFile]
    trained: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shapes(self) -> RouterFile:
        if list(self.tiers) != sorted(set(self.tiers)):
            raise ValueError("tiers must be distinct and listed cheapest first")
        if [r.tier for r in self.rungs] != list(self.tiers[:-1]):
            raise ValueError("rungs must be one per tier but the top, in ladder order")
        for number, rung in enumerate(self.rungs):
            bad = [i for i in rung.indices if not 0 <= i < self.features.dim]
            if bad:
                raise ValueError(
                    f"rungs.{number}.indices: {bad[0]} is outside 0..{self.features.dim - 1}"
                )
        return self


@dataclass(frozen=True)
class Rung:
    """One rung's logistic model: P(a tier above ``tier`` is needed)."""

    tier: Tier
    bias: float
    weights: npt.NDArray[np.float64]  # dense, length spec.dim


@dataclass(frozen=True)
class LearnedRouter:
    """A trained router: scores per rung for a prompt, and the tier those scores choose."""

    spec: FeatureSpec
    tiers: tuple[Tier, ...]
    rungs: tuple[Rung, ...]
    trained: dict[str, Any]

    def scores(self, text: str, category: str | None = None) -> tuple[float, ...]:
        """Each rung's probability that a higher tier is needed, cheapest rung first."""
        indices, values = featurize(text, category, self.spec)
        return tuple(_sigmoid(r.bias + float(r.weights[indices] @ values)) for r in self.rungs)

    def choose(self, scores: tuple[float, ...], thresholds: dict[Tier, float]) -> Tier:
        """The cheapest tier whose rung score is under its threshold (default 0.5), else the top."""
        for rung, score in zip(self.rungs, scores, strict=True):
            if score < thresholds.get(rung.tier, 0.5):
                return rung.tier
        return self.tiers[-1]

    def to_json(self) -> str:
        """The file form (weights rounded to 6 significant digits; zeros left out)."""
        rungs = []
        for rung in self.rungs:
            nonzero = np.nonzero(rung.weights)[0]
            rungs.append(
                {
                    "tier": rung.tier.value,
                    "bias": float(f"{rung.bias:.6g}"),
                    "indices": nonzero.tolist(),
                    "weights": [float(f"{w:.6g}") for w in rung.weights[nonzero]],
                }
            )
        data = {
            "format": FORMAT,
            "version": 1,
            "features": {
                "kind": "hashed-words",
                "dim": self.spec.dim,
                "bigrams": self.spec.bigrams,
                "category_weight": self.spec.category_weight,
                "max_chars": self.spec.max_chars,
            },
            "tiers": [t.value for t in self.tiers],
            "rungs": rungs,
            "trained": self.trained,
        }
        return json.dumps(data, separators=(",", ":"))

    def save(self, path: Path) -> None:
        """Write the router file."""
        path.write_text(self.to_json(), encoding="utf-8")


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
    try:
        parsed = RouterFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "router"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"{source}: {where}: {message}") from None
    spec = FeatureSpec(
        dim=parsed.features.dim,
        bigrams=parsed.features.bigrams,
        category_weight=parsed.features.category_weight,
        max_chars=parsed.features.max_chars,
    )
    rungs = []
    for rung in parsed.rungs:
        weights = np.zeros(spec.dim, dtype=np.float64)
        weights[np.asarray(rung.indices, dtype=np.intp)] = rung.weights
        rungs.append(Rung(rung.tier, rung.bias, weights))
    return LearnedRouter(spec, tuple(parsed.tiers), tuple(rungs), dict(parsed.trained))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
