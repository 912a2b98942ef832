"""Loading a policy file: TOML in, a validated ``Policy`` out, or one clear ``PolicyError``.

A user's policy can stand alone or start with ``extends = "default"`` (or ``"composite"``, the
shipped composite policy, or ``"base.toml"``, another policy file, relative to this one) to
change only what it names (tables merge key by key; lists replace). Model ids are checked
against the catalog at load time, so a typo fails at start-up rather than on the first request.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tierwise.core.catalog import Catalog, ModelSpec, default_catalog
from tierwise.core.errors import PolicyError, UnknownModelError
from tierwise.core.policy_schema import PolicyConfig
from tierwise.core.tiers import Tier

DEFAULT_POLICY_NAME = "default_policy.toml"
# Policies shipped with tierwise, by the name ``extends`` (and ``load_policy``) accept.
SHIPPED_POLICIES = {"default": DEFAULT_POLICY_NAME, "composite": "composite_policy.toml"}


@dataclass(frozen=True)
class Policy:
    """A validated policy with its tier models resolved in the catalog."""

    config: PolicyConfig
    source: str
    models: dict[Tier, ModelSpec]
    warnings: tuple[str, ...]

    @property
    def ladder(self) -> list[Tier]:
        """Enabled tiers, cheapest first."""
        return self.config.tiers.enabled

    @property
    def top_tier(self) -> Tier:
        """The most capable enabled tier: the counterfactual for routed (``auto``) requests."""
        return self.ladder[-1]

    def model_for(self, tier: Tier) -> ModelSpec:
        """The catalog entry serving ``tier``."""
        return self.models[tier]


def load_policy(
    path: Path | str | None = None,
    *,
    catalog: Catalog | None = None,
    overrides: dict[str, Any] | None = None,
) -> Policy:
    """Load and validate a policy file; ``None`` loads the default shipped with tierwise, and a
    shipped policy's name (``"composite"``) that policy when no such file exists. ``overrides``
    are merged over the file's settings before validation (``{"learned": {"router": ...}}``)."""
    catalog = catalog or default_catalog()
    if path is None:
        data, source = _default_data(), "default policy"
    elif str(path) in SHIPPED_POLICIES and not Path(path).exists():
        data, source = _shipped_data(str(path)), f"{path} policy"
    else:
        data, source = _file_data(Path(path), ()), str(path)
    return _build(_merge(data, overrides or {}), source, catalog)


def default_policy_text() -> str:
    """The shipped default policy file, as written (comments included)."""
    return resources.files("tierwise.core").joinpath(DEFAULT_POLICY_NAME).read_text("utf-8")


def resolved_data(path: Path | str) -> dict[str, Any]:
    """A policy file's settings with everything it ``extends`` merged in (validated first, so
    an invalid file is a ``PolicyError`` here too)."""
    load_policy(path)
    data = _file_data(Path(path), ())
    data.pop("extends", None)
    return data


def _file_data(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """A policy file's data merged over what it extends (the default or another file)."""
    data = _read_toml(path.read_bytes() if path.is_file() else None, str(path))
    base = data.get("extends")
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise PolicyError(f'{path}: extends: give "default", "composite" or a policy file\'s path')
    if base in SHIPPED_POLICIES:
        return _merge(_shipped_data(base), data)
    parent = (path.parent / base).resolve()
    if parent in chain or parent == path.resolve():
        cycle = " -> ".join(str(p) for p in (*chain, path.resolve(), parent))
        raise PolicyError(f"{path}: extends: a policy cannot extend itself ({cycle})")
    return _merge(_file_data(parent, (*chain, path.resolve())), data)


@cache
def default_policy() -> Policy:
    """The shipped default policy, loaded once."""
    return load_policy()


def _default_data() -> dict[str, Any]:
    raw = resources.files("tierwise.core").joinpath(DEFAULT_POLICY_NAME).read_bytes()
    return _read_toml(raw, "default policy")


def _shipped_data(name: str) -> dict[str, Any]:
    """A shipped policy's data, merged over what it extends (shipped policies extend only
    the default)."""
    if name == "default":
        return _default_data()
    raw = resources.files("tierwise.core").joinpath(SHIPPED_POLICIES[name]).read_bytes()
    data = _read_toml(raw, f"{name} policy")
    data.pop("extends", None)
    return _merge(_default_data(), data)


def _read_toml(raw: bytes | None, source: str) -> dict[str, Any]:
    if raw is None:
        raise PolicyError(f"{source}: policy file not found")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(data: dict[str, Any], source: str, catalog: Catalog) -> Policy:
    try:
        config = PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{source}: {_first_error(exc)}") from None
    _check_extras(config, source)
    models: dict[Tier, ModelSpec] = {}
    warnings: list[str] = []
    for tier in config.tiers.enabled:
        model_id = config.tiers.model_for(tier)
        try:
            spec = catalog.get(model_id)
        except UnknownModelError as exc:
            raise PolicyError(f"{source}: tiers.{tier.value}: {exc}") from None
        models[tier] = spec
        if spec.line is not tier:
            warnings.append(
                f"{source}: tiers.{tier.value}: {model_id} belongs to the "
                f"{spec.line.value} line, not {tier.value}"
            )
        note = spec.lifecycle_warning(date.today())
        if note:
            warnings.append(f"{source}: tiers.{tier.value}: {note}")
    return Policy(config=config, source=source, models=models, warnings=tuple(warnings))


# Validator kinds that need an optional extra: (the module it provides, the extra's name).
EXTRA_FOR_VALIDATOR = {
    "json_schema": ("jsonschema", "validators"),
    "tool_args": ("jsonschema", "validators"),
}


def _check_extras(config: PolicyConfig, source: str) -> None:
    """A policy whose checks need an extra that is not installed fails here, at load time
    (``tierwise serve`` start-up), not as a 500 on every routed request."""
    for task_type, specs in config.escalation.validators.items():
        for spec in specs:
            needed = EXTRA_FOR_VALIDATOR.get(spec.kind)
            if needed is None:
                continue
            module, extra = needed
            if importlib.util.find_spec(module) is None:
                raise PolicyError(
                    f"{source}: escalation.validators.{task_type}: a {spec.kind} check needs "
                    f"{module}, which is not installed: pip install 'tierwise[{extra}]'"
                )


def _first_error(exc: ValidationError) -> str:
    """The first validation error as ``field.path: reason`` (plus a count of the others)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "policy"
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}"
