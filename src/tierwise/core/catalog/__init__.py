"""The model catalog: which models exist, what they cost, and how an id finds its model.

The shipped ``models.toml`` is read first; each user file then overrides fields of existing models
(tables merge key by key, so ``prices = { input = 3 }`` changes one rate) or adds new ones. Every
file is validated as it is applied, so an error names the file that caused it. Nothing is read at
import time; ``default_catalog()`` loads the shipped file once and caches it.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tierwise.core.catalog.spec import (
    UNKNOWN,
    CatalogSettings,
    Lifecycle,
    LongPromptTier,
    ModelSpec,
    PriceLine,
    PriceSheet,
)
from tierwise.core.errors import CatalogError, UnknownModelError
from tierwise.core.tiers import Tier

__all__ = [
    "UNKNOWN",
    "Catalog",
    "CatalogSettings",
    "Lifecycle",
    "LongPromptTier",
    "ModelSpec",
    "PriceLine",
    "PriceSheet",
    "default_catalog",
    "load_catalog",
]

_SHIPPED = "models.toml"
_SHIPPED_NAME = "tierwise/catalog/models.toml (shipped)"
_DECORATION = re.compile(r"\[[^\]]*\]")  # Claude Code's "[1m]" context marker
_DATE_SUFFIX = re.compile(r"(?P<base>.+)-\d{8}")
_PRICE_TABLES = frozenset({"prices", "fast", "long_prompt"})
_Schema = TypeVar("_Schema", bound=BaseModel)


class Catalog:
    """Models by id and alias, plus the rules (batch, US-only inference) that apply to all."""

    __slots__ = ("_models", "_names", "batch_multiplier", "us_geo_multiplier", "version")

    def __init__(self, models: Iterable[ModelSpec], settings: CatalogSettings) -> None:
        self._models: dict[str, ModelSpec] = {spec.id: spec for spec in models}
        self._names: dict[str, str] = _name_index(self._models.values())
        self.batch_multiplier: Decimal = settings.batch_multiplier
        self.us_geo_multiplier: Decimal = settings.us_geo_multiplier
        self.version: str = settings.version

    def resolve_id(self, model_id: str) -> str:
        """The catalog id for ``model_id``: exact, alias, or a dated id whose base is listed.

        Decorations are dropped first: ``[1m]`` (Claude Code) and ``@...`` (Vertex snapshots).
        """
        name = _DECORATION.sub("", model_id).split("@", 1)[0].strip().lower()
        if name in self._names:
            return self._names[name]
        dated = _DATE_SUFFIX.fullmatch(name)
        if dated is not None and dated["base"] in self._names:
            return self._names[dated["base"]]
        close = difflib.get_close_matches(name, list(self._names), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(f"unknown model {model_id!r}{hint}")

    def get(self, model_id: str) -> ModelSpec:
        """The model ``model_id`` names, or ``UnknownModelError``."""
        return self._models[self.resolve_id(model_id)]

    def for_line(self, line: Tier) -> tuple[ModelSpec, ...]:
        """The models of one line (tier), newest release first."""
        members = (spec for spec in self._models.values() if spec.line is line)
        return tuple(sorted(members, key=lambda s: s.released or date.min, reverse=True))

    def models(self) -> tuple[ModelSpec, ...]:
        """Every model, in file order."""
        return tuple(self._models.values())

    def __contains__(self, model_id: object) -> bool:
        if not isinstance(model_id, str):
            return False
        try:
            self.resolve_id(model_id)
        except UnknownModelError:
            return False
        return True

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"<Catalog {self.version or 'unversioned'}: {len(self)} models>"


def _name_index(models: Collection[ModelSpec]) -> dict[str, str]:
    """Every id and alias → its model id; an alias that already names a model is an error."""
    names = {spec.id: spec.id for spec in models}
    for spec in models:
        for alias in spec.aliases:
            owner = names.setdefault(alias, spec.id)
            if owner != spec.id:
                raise CatalogError(f"models.{spec.id}.aliases: {alias!r} already names {owner}")
    return names


@functools.cache
def default_catalog() -> Catalog:
    """The shipped catalog, loaded on first use."""
    return load_catalog()


def load_catalog(*extra_files: Path) -> Catalog:
    """The shipped catalog, then each of ``extra_files`` applied over it in order.

    A user file that changes a model's prices without giving a ``source`` gets its own file name
    as the source, so a cost can always be traced to where its rates came from.
    """
    raw_settings: dict[str, Any] = {}
    raw_models: dict[str, dict[str, Any]] = {}
    specs: dict[str, ModelSpec] = {}
    files: list[tuple[str, Path | None]] = [(_SHIPPED_NAME, None)]
    files += [(str(path), path) for path in extra_files]
    catalog: Catalog | None = None
    for name, path in files:
        settings_patch, models_patch = _split(name, _read(name, path))
        raw_settings = _merge(raw_settings, settings_patch)
        settings = _validate(name, "catalog", CatalogSettings, raw_settings)
        for model_id, patch in models_patch.items():
            if "id" in patch:
                raise CatalogError(f"{name}: models.{model_id}.id: the table name is the id")
            if path is not None and "source" not in patch and _PRICE_TABLES & patch.keys():
                patch = {**patch, "source": f"user catalog {path.name}"}
            raw_models[model_id] = _merge(raw_models.get(model_id, {}), patch)
            raw = {**raw_models[model_id], "id": model_id}
            specs[model_id] = _validate(name, f"models.{model_id}", ModelSpec, raw)
        try:
            catalog = Catalog(specs.values(), settings)
        except CatalogError as exc:
            raise CatalogError(f"{name}: {exc}") from None
    assert catalog is not None  # the shipped file is always read
    return catalog


def _read(name: str, path: Path | None) -> dict[str, Any]:
    """Parse one TOML file with exact decimals, translating every failure to ``CatalogError``."""
    try:
        if path is None:
            data = resources.files("tierwise.core.catalog").joinpath(_SHIPPED).read_bytes()
        else:
            data = path.read_bytes()
        return tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise CatalogError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CatalogError(f"{name}: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: invalid TOML: {exc}") from None


def _split(name: str, doc: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The ``[catalog]`` table and the ``[models.<id>]`` tables, after checking the file's shape."""
    unknown = sorted(doc.keys() - {"catalog", "models"})
    if unknown:
        raise CatalogError(f"{name}: {unknown[0]}: unknown key (expected [catalog], [models.<id>])")
    settings = doc.get("catalog", {})
    models = doc.get("models", {})
    if not isinstance(settings, dict):
        raise CatalogError(f"{name}: catalog: must be a table")
    if not isinstance(models, dict):
        raise CatalogError(f"{name}: models: must be a table of [models.<id>] tables")
    for model_id, table in models.items():
        if not isinstance(table, dict):
            raise CatalogError(f"{name}: models.{model_id}: must be a table")
    return settings, models


def _merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` laid over it, tables merged key by key."""
    merged = dict(base)
    for key, value in patch.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            value = _merge(old, value)
        merged[key] = value
    return merged


def _validate(name: str, where: str, schema: type[_Schema], raw: Mapping[str, Any]) -> _Schema:
    """Validate ``raw`` against ``schema``; the first error names file, field and reason."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        field = ".".join(str(part) for part in (where, *first["loc"]))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CatalogError(f"{name}: {field}: {first['msg']}{more}") from None
