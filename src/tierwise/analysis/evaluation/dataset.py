"""Labelled routing datasets: ``NAME.jsonl`` rows plus ``NAME.meta.json`` (model → tier).

Each row holds the prompt, an optional category, each model's score in [0, 1] and optionally
each model's answer length. The meta file maps every model to the tier it stands in for, so a
dataset becomes a matrix of scores with one column per tier, cheapest first. Bad input fails
with the file, line and field named.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt

from tierwise.core.errors import InputError, UnknownTierError
from tierwise.core.tiers import Tier

ENV_DATA_DIR = "TIERWISE_EVAL_DATA"
DEFAULT_OUTPUT_TOKENS = 256  # when a row does not say how long an answer was


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled prompt: each tier's score and answer length (tokens)."""

    id: str
    prompt: str
    category: str | None
    scores: Mapping[Tier, float]
    output_tokens: Mapping[Tier, int]


@dataclass(frozen=True)
class Dataset:
    """Rows with a score for every tier in ``tiers`` (cheapest first)."""

    name: str
    tiers: tuple[Tier, ...]
    rows: tuple[Row, ...]
    # tier → (model, USD per million input tokens, per million output) when the meta file
    # declares every model's ``price``; evaluation then prices with these, not the catalog
    prices: Mapping[Tier, tuple[str, float, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def scores(self) -> npt.NDArray[np.float64]:
        """Scores as an (n, tiers) matrix."""
        return np.array([[row.scores[t] for t in self.tiers] for row in self.rows], dtype=float)

    @property
    def output_tokens(self) -> npt.NDArray[np.float64]:
        """Answer lengths as an (n, tiers) matrix."""
        return np.array(
            [[row.output_tokens[t] for t in self.tiers] for row in self.rows], dtype=float
        )

    def subset(self, indices: npt.NDArray[np.intp], name: str | None = None) -> Dataset:
        """The rows at ``indices`` (for cross-validation folds and bootstrap samples)."""
        rows = tuple(self.rows[i] for i in indices)
        return Dataset(name or self.name, self.tiers, rows, self.prices)

    def restrict(self, tiers: tuple[Tier, ...]) -> Dataset:
        """The same rows with only ``tiers`` (e.g. the haiku↔opus pair of a 3-tier set)."""
        missing = [t.value for t in tiers if t not in self.tiers]
        if missing:
            raise InputError(f"{self.name}: has no scores for tier(s) {', '.join(missing)}")
        prices = {t: p for t, p in self.prices.items() if t in tiers}
        return Dataset(f"{self.name}[{'/'.join(t.value for t in tiers)}]", tiers, self.rows, prices)


def data_dir(explicit: Path | str | None = None) -> Path | None:
    """Where datasets are looked up by name: the argument, else ``TIERWISE_EVAL_DATA``."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env) if env else None


def resolve_dataset(name_or_path: str, directory: Path | None = None) -> Path:
    """A dataset's JSONL path from a path or a bare name (looked up in ``directory``)."""
    path = Path(name_or_path)
    if path.suffix == ".jsonl" or path.is_file():
        return path
    base = directory if directory is not None else data_dir()
    if base is None:
        raise InputError(
            f"dataset {name_or_path!r}: give a .jsonl path, or set {ENV_DATA_DIR} "
            "(or --data-dir) to the folder that holds it"
        )
    return base / f"{name_or_path}.jsonl"


def load_dataset(path: Path | str) -> Dataset:
    """Read ``NAME.jsonl`` and its ``NAME.meta.json``; ``InputError`` names what is wrong."""
    path = Path(path)
    if not path.is_file():  # the data file first: its meta file is only looked for beside it
        raise InputError(f"dataset {path}: no such file")
    meta_path = path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")
    model_tiers, prices = _model_tiers(meta_path)
    tiers = tuple(sorted(set(model_tiers.values())))
    if len(tiers) < 2:
        raise InputError(f"{meta_path}: models: at least two tiers are needed to route")
    try:
        # split on "\n" only: splitlines() would also break inside prompts at U+0085 and U+2028
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise InputError(f"cannot read dataset {path}: {exc.strerror}") from None
    rows = tuple(
        _row(line, number, path, model_tiers)
        for number, line in enumerate(lines, start=1)
        if line.strip()
    )
    if not rows:
        raise InputError(f"{path}: no rows")
    name = path.name.removesuffix(".jsonl")
    return Dataset(name=name, tiers=tiers, rows=rows, prices=prices)


def _model_tiers(meta_path: Path) -> tuple[dict[str, Tier], dict[Tier, tuple[str, float, float]]]:
    """Model → tier, and tier → (model, input, output USD per million tokens) when every model
    declares ``"price": {"input": ..., "output": ...}`` (else empty: the catalog prices)."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {meta_path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{meta_path}: not valid JSON ({exc.msg})") from None
    models = meta.get("models") if isinstance(meta, dict) else None
    if not isinstance(models, dict) or not models:
        raise InputError(f"{meta_path}: 'models' must map each model to {{'tier': ...}}")
    out: dict[str, Tier] = {}
    for model, info in models.items():
        tier = info.get("tier") if isinstance(info, dict) else None
        if not isinstance(tier, str):
            raise InputError(f"{meta_path}: models.{model}.tier must be a tier name")
        try:
            out[model] = Tier.parse(tier)
        except UnknownTierError as exc:
            raise InputError(f"{meta_path}: models.{model}.tier: {exc}") from None
    if len(set(out.values())) != len(out):
        raise InputError(f"{meta_path}: models: two models stand in for the same tier")
    prices: dict[Tier, tuple[str, float, float]] = {}
    for model, info in models.items():
        price = info.get("price")
        if price is None:
            continue
        if not (
            isinstance(price, dict)
            and all(_number(price.get(k)) and float(price[k]) >= 0 for k in ("input", "output"))
        ):
            raise InputError(
                f"{meta_path}: models.{model}.price must be {{'input': USD, 'output': USD}} "
                "per million tokens"
            )
        prices[out[model]] = (model, float(price["input"]), float(price["output"]))
    return out, prices if len(prices) == len(out) else {}


def _row(line: str, number: int, path: Path, model_tiers: dict[str, Tier]) -> Row:
    where = f"{path}:{number}"
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: a row must be a JSON object")
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError(f"{where}: 'prompt' must be a non-empty string")
    category = data.get("category")
    if category is not None and not isinstance(category, str):
        raise InputError(f"{where}: 'category' must be a string")
    raw_scores = data.get("scores")
    if not isinstance(raw_scores, dict):
        raise InputError(f"{where}: 'scores' must map model names to numbers")
    lengths = data.get("output_tokens") or {}
    if not isinstance(lengths, dict):
        raise InputError(f"{where}: 'output_tokens' must map model names to numbers")
    scores: dict[Tier, float] = {}
    output: dict[Tier, int] = {}
    for model, tier in model_tiers.items():
        value = raw_scores.get(model)
        if not _number(value) or not 0 <= float(value) <= 1:
            raise InputError(f"{where}: scores.{model} must be a number in [0, 1]")
        scores[tier] = float(value)
        length = lengths.get(model, DEFAULT_OUTPUT_TOKENS)
        if not _number(length) or float(length) < 0:
            raise InputError(f"{where}: output_tokens.{model} must be a non-negative number")
        output[tier] = int(length)
    row_id = data.get("id", str(number))
    return Row(str(row_id), prompt, category, scores, output)


def _number(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)
