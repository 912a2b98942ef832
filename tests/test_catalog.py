"""The shipped catalog, id resolution, user override files and lifecycle warnings."""

from __future__ import annotations

import typing
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from anthropic.types.model import Model

from tierwise.core.catalog import (
    Catalog,
    Lifecycle,
    ModelSpec,
    PriceSheet,
    default_catalog,
    load_catalog,
)
from tierwise.core.errors import CatalogError, UnknownModelError
from tierwise.core.tiers import Tier


def _sdk_model_ids() -> tuple[str, ...]:
    """The ids in the SDK's ``Model`` literal, so an SDK bump that adds a model fails here."""
    literals = [arg for arg in typing.get_args(Model) if typing.get_origin(arg) is typing.Literal]
    assert len(literals) == 1
    return tuple(str(value) for value in typing.get_args(literals[0]))


SDK_IDS = _sdk_model_ids()
OLDER_IDS = ("claude-3-5-haiku-20241022", "claude-sonnet-4-20250514", "claude-opus-4-20250514")


@pytest.fixture
def catalog() -> Catalog:
    return default_catalog()


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- shipped data


def test_models_toml_is_package_data() -> None:
    assert resources.files("tierwise.core.catalog").joinpath("models.toml").is_file()


def test_sdk_literal_has_the_ids_we_know_of() -> None:
    assert len(SDK_IDS) >= 22
    assert "claude-fable-5-2" in SDK_IDS


@pytest.mark.parametrize("model_id", SDK_IDS)
def test_every_sdk_model_id_resolves(catalog: Catalog, model_id: str) -> None:
    assert model_id in catalog
    spec = catalog.get(model_id)
    assert model_id == spec.id or model_id in spec.aliases


@pytest.mark.parametrize("model_id", OLDER_IDS)
def test_older_ids_resolve_to_themselves(catalog: Catalog, model_id: str) -> None:
    assert catalog.resolve_id(model_id) == model_id


def test_default_catalog_is_loaded_once() -> None:
    assert default_catalog() is default_catalog()


def test_catalog_rules(catalog: Catalog) -> None:
    assert catalog.batch_multiplier == Decimal("0.5")
    assert catalog.us_geo_multiplier == Decimal("1.1")
    assert len(catalog) == len(catalog.models()) == len(list(catalog))


def test_every_model_has_a_source_and_known_input_output(catalog: Catalog) -> None:
    for spec in catalog:
        assert spec.source, spec.id
        assert spec.prices.input is not None, spec.id
        assert spec.prices.output is not None, spec.id


def test_unknown_prices_stay_unknown(catalog: Catalog) -> None:
    preview = catalog.get("claude-mythos-preview").prices
    assert preview.cache_write_5m is None
    assert preview.cache_write_1h is None
    assert preview.cache_read is None


def test_cache_read_exceptions(catalog: Catalog) -> None:
    for model_id in ("claude-opus-5-5", "claude-sonnet-5-5"):
        prices = catalog.get(model_id).prices
        assert prices.input is not None
        assert prices.cache_read == prices.input * Decimal("0.05")
    assert catalog.get("claude-sonnet-5-5").prices.cache_read == Decimal("0.10")


def test_lines(catalog: Catalog) -> None:
    assert catalog.get("claude-haiku-5-5").line is Tier.HAIKU
    assert catalog.get("claude-mythos-5-2").line is Tier.MYTHOS
    assert catalog.get("claude-fable-5-2").line is Tier.FABLE
    assert catalog.for_line(Tier.SONNET)[0].id == "claude-sonnet-5-5"


def test_haiku_5_5_long_prompt_tier(catalog: Catalog) -> None:
    tier = catalog.get("claude-haiku-5-5").long_prompt
    assert tier is not None
    assert tier.threshold_tokens == 100_000
    assert tier.prices == PriceSheet(
        input=Decimal("0.50"),
        output=Decimal("2.50"),
        cache_write_5m=Decimal("0.625"),
        cache_write_1h=Decimal("1.00"),
        cache_read=Decimal("0.05"),
    )


def test_fast_sheets_follow_the_cache_multipliers(catalog: Catalog) -> None:
    fast_models = {spec.id for spec in catalog if spec.fast is not None}
    assert fast_models == {
        "claude-opus-5-5",
        "claude-opus-5",
        "claude-opus-4-8",
        "claude-fable-5-2",
        "claude-mythos-5-2",
    }
    for spec in catalog:
        if spec.fast is None:
            continue
        fast, std = spec.fast, spec.prices
        assert fast.input is not None
        assert std.input is not None
        assert std.cache_read is not None
        assert fast.cache_write_5m == fast.input * Decimal("1.25"), spec.id
        assert fast.cache_write_1h == fast.input * 2, spec.id
        assert fast.cache_read == fast.input * std.cache_read / std.input, spec.id
    opus = catalog.get("claude-opus-5-5").fast
    assert opus is not None
    assert (opus.input, opus.output) == (Decimal(8), Decimal(40))


# ---------------------------------------------------------------- id resolution


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),  # a listed alias
        ("claude-opus-4-7-20260416", "claude-opus-4-7"),  # an unlisted dated id
        ("claude-opus-4-6-20260205", "claude-opus-4-6"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4-20250514"),  # dated and listed
        ("claude-sonnet-4-0", "claude-sonnet-4-20250514"),
        ("claude-opus-4-6[1m]", "claude-opus-4-6"),
        ("claude-sonnet-4-5-20250929[1m]", "claude-sonnet-4-5"),
        ("claude-opus-4-5@20251101", "claude-opus-4-5"),
        (" Claude-Sonnet-4-6 ", "claude-sonnet-4-6"),
    ],
)
def test_resolve_id(catalog: Catalog, given: str, expected: str) -> None:
    assert catalog.resolve_id(given) == expected
    assert catalog.get(given).id == expected


def test_unknown_id_names_the_id_and_close_matches(catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as info:
        catalog.get("claude-opus-5-6")
    message = str(info.value)
    assert "'claude-opus-5-6'" in message
    assert "claude-opus-5-5" in message
    assert isinstance(info.value, KeyError)


def test_unknown_ids_are_not_contained(catalog: Catalog) -> None:
    assert "gpt-4o" not in catalog
    assert "claude-sonnet-4-20250601" not in catalog  # base "claude-sonnet-4" is not listed
    assert 42 not in catalog


# ---------------------------------------------------------------- user files


def test_user_file_overrides_one_price_and_adds_a_model(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[models."claude-opus-5-5"]
prices = { input = 3.5 }

[models."claude-haiku-6"]
line = "haiku"
display_name = "Claude Haiku 6"
context_window = 1_000_000
max_output = 64_000
released = 2027-01-15
aliases = ["claude-haiku-6-20270115"]
prices = { input = 0.2, output = 1, cache_read = 0.02 }
""",
    )
    catalog = load_catalog(path)
    opus = catalog.get("claude-opus-5-5")
    assert opus.prices.input == Decimal("3.5")
    assert opus.prices.output == Decimal(20)  # untouched lines keep the shipped value
    assert opus.fast is not None
    assert opus.fast.input == Decimal(8)
    assert opus.source == "user catalog mine.toml"
    new = catalog.get("claude-haiku-6-20270115")
    assert new.id == "claude-haiku-6"
    assert new.line is Tier.HAIKU
    assert new.lifecycle is Lifecycle.ACTIVE
    assert new.prices.cache_write_5m is None  # absent means unknown
    assert new.prices.cache_read == Decimal("0.02")
    assert len(catalog) == len(default_catalog()) + 1
    assert default_catalog().get("claude-opus-5-5").prices.input == Decimal(4)


def test_later_files_win_and_settings_can_be_overridden(tmp_path: Path) -> None:
    first = _write(tmp_path, '[models."claude-sonnet-5-5"]\nprices = { output = 11 }\n', "a.toml")
    second = _write(
        tmp_path,
        '[catalog]\nus_geo_multiplier = "1.15"\n'
        '[models."claude-sonnet-5-5"]\nprices = { output = 12 }\nsource = "contract"\n',
        "b.toml",
    )
    catalog = load_catalog(first, second)
    spec = catalog.get("claude-sonnet-5-5")
    assert spec.prices.output == Decimal(12)
    assert spec.source == "contract"
    assert catalog.us_geo_multiplier == Decimal("1.15")
    assert catalog.batch_multiplier == Decimal("0.5")


def test_a_price_can_be_marked_unknown(tmp_path: Path) -> None:
    path = _write(tmp_path, '[models."claude-opus-5-5"]\nprices = { cache_read = "unknown" }\n')
    assert load_catalog(path).get("claude-opus-5-5").prices.cache_read is None


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ('[models."claude-opus-5-5"\nprices = {}', "", "invalid TOML"),
        ('[models."claude-opus-5-5"]\nline = "tiny"\n', "models.claude-opus-5-5.line", "haiku"),
        (
            '[models."claude-opus-5-5"]\nprices = { input = -1 }\n',
            "models.claude-opus-5-5.prices.input",
            "negative",
        ),
        (
            '[models."claude-opus-5-5"]\nprices = { input = "cheap" }\n',
            "models.claude-opus-5-5.prices.input",
            "number",
        ),
        (
            '[models."claude-new"]\ndisplay_name = "New"\ncontext_window = 1000\n'
            "max_output = 100\nprices = { input = 1 }\n",
            "models.claude-new.line",
            "required",
        ),
        (
            '[models."claude-opus-5-5"]\ncontxt_window = 5\n',
            "models.claude-opus-5-5.contxt_window",
            "not permitted",
        ),
        (
            '[models."claude-opus-5-5"]\ncontext_window = "big"\n',
            "models.claude-opus-5-5.context_window",
            "integer",
        ),
        (
            '[models."claude-opus-5-5"]\naliases = ["claude-opus-5"]\n',
            "models.claude-opus-5-5.aliases",
            "already names claude-opus-5",
        ),
        ("[catalog]\nbatch_multiplier = 0\n", "catalog.batch_multiplier", "positive"),
        ("[pricing]\nx = 1\n", "pricing", "unknown key"),
        ("models = 3\n", "models", "table"),
    ],
)
def test_invalid_user_file_names_file_and_field(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert field in message
    assert reason in message


def test_missing_user_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(missing)


def test_price_sheet_parses_exactly() -> None:
    sheet = PriceSheet(input=0.1, output="2.50", cache_read=Decimal("0.01"))
    assert sheet.input == Decimal("0.1")
    assert sheet.output == Decimal("2.50")
    assert sheet.rate("cache_read") == Decimal("0.01")
    assert sheet.rate("cache_write_1h") is None
    with pytest.raises(ValueError, match="number"):
        PriceSheet(input=True)


# ---------------------------------------------------------------- lifecycle


@pytest.mark.parametrize(
    ("model_id", "today", "usable", "warning"),
    [
        ("claude-opus-5-5", date(2026, 11, 26), True, None),
        ("claude-opus-4-6", date(2026, 11, 26), True, None),  # legacy: served, no warning
        (
            "claude-sonnet-4-5",
            date(2026, 11, 26),
            True,
            "claude-sonnet-4-5 is deprecated; it retires on 2026-11-30",
        ),
        (
            "claude-sonnet-4-5-20250929",
            date(2026, 11, 30),
            False,
            "claude-sonnet-4-5 was retired on 2026-11-30; requests to it will fail",
        ),
        (
            "claude-3-5-haiku-20241022",
            date(2026, 11, 26),
            False,
            "claude-3-5-haiku-20241022 was retired on 2026-02-19; requests to it will fail",
        ),
        ("claude-sonnet-4-20250514", date(2026, 6, 15), False, "retired on 2026-06-15"),
        ("claude-opus-4-20250514", date(2026, 6, 14), True, "deprecated; it retires"),
        ("claude-mythos-preview", date(2026, 7, 1), False, "retired on 2026-06-30"),
    ],
)
def test_lifecycle(
    catalog: Catalog, model_id: str, today: date, usable: bool, warning: str | None
) -> None:
    spec = catalog.get(model_id)
    assert spec.is_usable_on(today) is usable
    got = spec.lifecycle_warning(today)
    if warning is None:
        assert got is None
    else:
        assert got is not None
        assert warning in got


def test_lifecycle_without_dates() -> None:
    base = {
        "id": "claude-x",
        "line": "opus",
        "display_name": "X",
        "context_window": 1,
        "max_output": 1,
        "prices": {},
    }
    retired = ModelSpec.model_validate({**base, "lifecycle": "retired"})
    assert not retired.is_usable_on(date(2020, 1, 1))
    expected = "claude-x was retired; requests to it will fail"
    assert retired.lifecycle_warning(date(2020, 1, 1)) == expected
    deprecated = ModelSpec.model_validate({**base, "deprecated_at": date(2026, 1, 1)})
    assert deprecated.lifecycle_warning(date(2025, 12, 31)) is None
    assert deprecated.lifecycle_warning(date(2026, 1, 1)) == "claude-x is deprecated"
