"""Exact billing: hand-computed cases for every rule, and properties over random usage."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from anthropic.types import CacheCreation, MessageDeltaUsage, OutputTokensDetails
from anthropic.types import Usage as SdkUsage
from hypothesis import given
from hypothesis import strategies as st

from tierwise.core.catalog import default_catalog, load_catalog
from tierwise.core.errors import InvalidUsageError, UnknownModelError, UnknownPriceError
from tierwise.core.pricing import Cost, Usage, baseline_cost, cost, format_usd, savings

D = Decimal
CATALOG = default_catalog()
FULLY_PRICED = tuple(spec.id for spec in CATALOG if None not in spec.prices.model_dump().values())
FAST = tuple(spec.id for spec in CATALOG if spec.fast is not None)
TOKEN_FIELDS = (
    "input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "output_tokens",
)


def _lines(c: Cost) -> tuple[Decimal, ...]:
    return (c.input, c.cache_write_5m, c.cache_write_1h, c.cache_read, c.output)


# ---------------------------------------------------------------- hand-computed cases


def test_plain() -> None:
    c = cost(Usage(input_tokens=1_000, output_tokens=500), "claude-opus-5-5")
    assert c.model == "claude-opus-5-5"
    assert c.input == D("0.004")  # 1,000 × $4 / 1M
    assert c.output == D("0.01")  # 500 × $20 / 1M
    assert c.total == D("0.014")
    assert (c.long_prompt, c.batch, c.us_geo, c.fast) == (False, False, False, False)


def test_cache_write_split_by_ttl() -> None:
    usage = Usage(
        input_tokens=100,
        cache_write_5m_tokens=2_000,
        cache_write_1h_tokens=1_000,
        output_tokens=100,
    )
    c = cost(usage, "claude-sonnet-4-6")
    assert c.input == D("0.0003")  # 100 × $3
    assert c.cache_write_5m == D("0.0075")  # 2,000 × $3.75
    assert c.cache_write_1h == D("0.006")  # 1,000 × $6
    assert c.output == D("0.0015")  # 100 × $15
    assert c.total == D("0.0153")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-opus-5-5", D("0.20")),  # 0.05 × $4, not 0.1 ×
        ("claude-sonnet-5-5", D("0.10")),  # 0.05 × $2
        ("claude-opus-5", D("0.50")),  # the usual 0.1 × $5
        ("claude-fable-5-2", D("0.20")),  # 0.025 × $8
    ],
)
def test_cache_read_rates(model: str, expected: Decimal) -> None:
    assert cost(Usage(cache_read_tokens=1_000_000), model).total == expected


HAIKU_AT_THRESHOLD = Usage(
    input_tokens=40_000,
    cache_write_5m_tokens=10_000,
    cache_write_1h_tokens=10_000,
    cache_read_tokens=40_000,
    output_tokens=10_000,
)


def test_haiku_5_5_at_exactly_100k_prompt_tokens_is_standard() -> None:
    assert HAIKU_AT_THRESHOLD.prompt_tokens == 100_000
    c = cost(HAIKU_AT_THRESHOLD, "claude-haiku-5-5")
    assert not c.long_prompt
    assert _lines(c) == (D("0.004"), D("0.00125"), D("0.002"), D("0.0004"), D("0.005"))
    assert c.total == D("0.01265")


def test_haiku_5_5_above_100k_reprices_the_whole_request() -> None:
    usage = HAIKU_AT_THRESHOLD + Usage(input_tokens=1)
    assert usage.prompt_tokens == 100_001
    c = cost(usage, "claude-haiku-5-5")
    assert c.long_prompt
    # 40,001 × $0.50; 10,000 × $0.625; 10,000 × $1; 40,000 × $0.05; output too: 10,000 × $2.50
    assert _lines(c) == (D("0.0200005"), D("0.00625"), D("0.01"), D("0.002"), D("0.025"))
    assert c.total == D("0.0632505")
    assert c.total_micro_usd == 63_251  # half up
    assert c.usd() == "$0.063251"


def test_haiku_5_5_long_prompt_tier_is_halved_in_batch() -> None:
    usage = HAIKU_AT_THRESHOLD + Usage(input_tokens=1)
    assert cost(usage, "claude-haiku-5-5", batch=True).total == D("0.03162525")


def test_batch() -> None:
    c = cost(Usage(input_tokens=1_000, output_tokens=500), "claude-opus-5-5", batch=True)
    assert c.batch
    assert c.total == D("0.007")


def test_us_inference_geo() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500)
    c = cost(usage, "claude-opus-5-5", inference_geo="us")
    assert c.us_geo
    assert c.total == D("0.0154")
    for other in (None, "global", "eu", "US-EAST"):
        assert cost(usage, "claude-opus-5-5", inference_geo=other).total == D("0.014")
    assert cost(usage, "claude-opus-5-5", inference_geo="US").us_geo


def test_fast_mode() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=1_000_000)
    c = cost(usage, "claude-opus-5-5", speed="fast")
    assert c.fast
    assert c.input == D("0.008")  # 1,000 × $8
    assert c.output == D("0.02")  # 500 × $40
    assert c.cache_read == D("0.40")  # 0.05 × the fast input rate
    fable = cost(
        Usage(input_tokens=1_000_000, output_tokens=1_000_000), "claude-mythos-5-2", speed="fast"
    )
    assert fable.total == D(96)  # $16 + $80
    standard = cost(usage, "claude-opus-5-5", speed="standard")
    assert standard == cost(usage, "claude-opus-5-5")


def test_batch_us_and_fast_stack() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500)
    c = cost(usage, "claude-opus-5-5", batch=True, inference_geo="us", speed="fast")
    assert (c.batch, c.us_geo, c.fast) == (True, True, True)
    assert c.total == D("0.0154")  # ($0.008 + $0.02) × 0.5 × 1.1


def test_fast_mode_without_fast_rates_raises() -> None:
    with pytest.raises(UnknownPriceError, match=r"claude-sonnet-5-5.*fast"):
        cost(Usage(input_tokens=1), "claude-sonnet-5-5", speed="fast")
    with pytest.raises(UnknownPriceError, match="turbo"):
        cost(Usage(input_tokens=1), "claude-opus-5-5", speed="turbo")


def test_unknown_price_raises_only_when_needed() -> None:
    plain = cost(Usage(input_tokens=1_000, output_tokens=100), "claude-mythos-preview")
    assert plain.total == D("0.0375")  # 1,000 × $25 + 100 × $125
    with pytest.raises(UnknownPriceError) as info:
        cost(Usage(input_tokens=1, cache_read_tokens=1), "claude-mythos-preview")
    assert "claude-mythos-preview" in str(info.value)
    assert "cache_read" in str(info.value)


def test_unknown_model_raises() -> None:
    with pytest.raises(UnknownModelError, match="gpt-5"):
        cost(Usage(input_tokens=1), "gpt-5")


def test_cost_reports_the_resolved_id() -> None:
    assert cost(Usage(output_tokens=1), "claude-haiku-4-5-20251001").model == "claude-haiku-4-5"


def test_user_catalog(tmp_path: Path) -> None:
    path = tmp_path / "contract.toml"
    path.write_text('[models."claude-opus-5-5"]\nprices = { input = 3 }\n', encoding="utf-8")
    usage = Usage(input_tokens=1_000_000)
    assert cost(usage, "claude-opus-5-5", catalog=load_catalog(path)).total == D(3)


def test_zero_usage_costs_zero() -> None:
    c = cost(Usage(), "claude-mythos-preview")
    assert c.total == 0
    assert c.total_micro_usd == 0
    assert c.usd(2) == "$0.00"


# ---------------------------------------------------------------- display


@pytest.mark.parametrize(
    ("amount", "places", "expected"),
    [
        (D("1.5"), 2, "$1.50"),
        (D("0.0000005"), 6, "$0.000001"),
        (D("-0.25"), 2, "-$0.25"),
        (D("-0.0000001"), 6, "$0.000000"),
    ],
)
def test_format_usd(amount: Decimal, places: int, expected: str) -> None:
    assert format_usd(amount, places) == expected


# ---------------------------------------------------------------- baseline and savings


def test_baseline_and_savings() -> None:
    usage = Usage(input_tokens=100_000, output_tokens=100_000)
    actual = cost(usage, "claude-haiku-5-5")  # $0.01 + $0.05
    baseline = baseline_cost(usage, "claude-opus-5-5")  # $0.40 + $2
    assert baseline == cost(usage, "claude-opus-5-5")
    saved = savings(actual, baseline)
    assert (saved.model, saved.baseline_model) == ("claude-haiku-5-5", "claude-opus-5-5")
    assert saved.actual == D("0.06")
    assert saved.baseline == D("2.4")
    assert saved.amount == D("2.34")
    assert saved.fraction == D("0.975")


def test_savings_negative_and_zero_baseline() -> None:
    usage = Usage(output_tokens=1_000_000)
    worse = savings(cost(usage, "claude-opus-5-5"), cost(usage, "claude-sonnet-5-5"))
    assert worse.amount == D(-10)
    assert worse.fraction == D(-1)
    nothing = savings(cost(Usage(), "claude-opus-5-5"), cost(Usage(), "claude-sonnet-5-5"))
    assert nothing.fraction is None


# ---------------------------------------------------------------- usage


def test_usage_from_wire_json() -> None:
    usage = Usage.from_api(
        {
            "input_tokens": 21,
            "cache_creation_input_tokens": 300,
            "cache_read_input_tokens": 4_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
            "output_tokens": 393,
            "output_tokens_details": {"thinking_tokens": 120},
            "service_tier": "standard",
        }
    )
    assert usage == Usage(21, 100, 200, 4_000, 393, 120)
    assert usage.prompt_tokens == 4_321


def test_usage_without_breakdown_counts_writes_as_5_minute() -> None:
    usage = Usage.from_api(
        {"input_tokens": 5, "cache_creation_input_tokens": 300, "output_tokens": 1}
    )
    assert usage == Usage(input_tokens=5, cache_write_5m_tokens=300, output_tokens=1)


def test_usage_from_sdk_objects() -> None:
    sdk = SdkUsage(
        input_tokens=21,
        output_tokens=393,
        cache_creation_input_tokens=300,
        cache_read_input_tokens=4_000,
        cache_creation=CacheCreation(ephemeral_5m_input_tokens=100, ephemeral_1h_input_tokens=200),
        output_tokens_details=OutputTokensDetails(thinking_tokens=120),
    )
    assert Usage.from_api(sdk) == Usage(21, 100, 200, 4_000, 393, 120)
    delta = MessageDeltaUsage(output_tokens=89, cache_read_input_tokens=2_048)
    assert Usage.from_api(delta) == Usage(cache_read_tokens=2_048, output_tokens=89)


@pytest.mark.parametrize("bad", [-1, 1.0, True, "5"])
def test_invalid_counts_raise(bad: object) -> None:
    with pytest.raises(InvalidUsageError, match="output_tokens"):
        Usage.from_api({"input_tokens": 1, "output_tokens": bad})
    with pytest.raises(InvalidUsageError):
        Usage(input_tokens=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsageError, match="ephemeral_1h"):
        Usage.from_api({"cache_creation": {"ephemeral_1h_input_tokens": bad}})
    with pytest.raises(InvalidUsageError):
        Usage.from_api(None)


def test_usage_adds_line_by_line() -> None:
    total = Usage(1, 2, 3, 4, 5, 6) + Usage(10, 20, 30, 40, 50, 60)
    assert total == Usage(11, 22, 33, 44, 55, 66)


# ---------------------------------------------------------------- properties

counts = st.integers(min_value=0, max_value=3_000_000)
usages = st.builds(
    Usage,
    input_tokens=counts,
    cache_write_5m_tokens=counts,
    cache_write_1h_tokens=counts,
    cache_read_tokens=counts,
    output_tokens=counts,
)
near_haiku_threshold = st.integers(min_value=0, max_value=60_000)
haiku_usages = st.builds(
    Usage,
    input_tokens=near_haiku_threshold,
    cache_write_5m_tokens=near_haiku_threshold,
    cache_write_1h_tokens=near_haiku_threshold,
    cache_read_tokens=near_haiku_threshold,
    output_tokens=near_haiku_threshold,
)
models = st.sampled_from(FULLY_PRICED)


def _bump(usage: Usage, field: str, delta: int) -> Usage:
    return usage + Usage(**{field: delta})


@given(usage=usages, model=models, batch=st.booleans(), us=st.booleans())
def test_cost_is_never_negative(usage: Usage, model: str, batch: bool, us: bool) -> None:
    c = cost(usage, model, batch=batch, inference_geo="us" if us else None)
    assert all(line >= 0 for line in _lines(c))
    assert c.total >= 0


@given(
    usage=usages,
    model=models,
    field=st.sampled_from(TOKEN_FIELDS),
    delta=st.integers(1, 200_000),
)
def test_cost_is_monotone_in_every_count(usage: Usage, model: str, field: str, delta: int) -> None:
    assert cost(_bump(usage, field, delta), model).total >= cost(usage, model).total


@given(usage=usages, model=st.sampled_from(FAST), field=st.sampled_from(TOKEN_FIELDS))
def test_fast_cost_is_monotone(usage: Usage, model: str, field: str) -> None:
    bumped = _bump(usage, field, 1)
    assert cost(bumped, model, speed="fast").total >= cost(usage, model, speed="fast").total


@given(usage=haiku_usages, field=st.sampled_from(TOKEN_FIELDS), delta=st.integers(1, 50_000))
def test_haiku_5_5_tier_jump_keeps_cost_monotone(usage: Usage, field: str, delta: int) -> None:
    before = cost(usage, "claude-haiku-5-5")
    after = cost(_bump(usage, field, delta), "claude-haiku-5-5")
    assert after.total >= before.total
    assert after.long_prompt or not before.long_prompt  # more tokens never leave the long tier


@given(usage=usages, model=models)
def test_batch_is_exactly_half(usage: Usage, model: str) -> None:
    standard, batched = cost(usage, model), cost(usage, model, batch=True)
    assert batched.total == standard.total * D("0.5")
    assert _lines(batched) == tuple(line * D("0.5") for line in _lines(standard))


@given(usage=usages, model=models, batch=st.booleans())
def test_us_geo_is_exactly_1_1x(usage: Usage, model: str, batch: bool) -> None:
    global_ = cost(usage, model, batch=batch)
    us = cost(usage, model, batch=batch, inference_geo="us")
    assert us.total == global_.total * D("1.1")
