"""The cost calculator: monthly spend for a workload, routed by a tier mix, and the advice.

Expected amounts are computed by hand from the catalog's published rates.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tierwise.analysis.monthly_cost import (
    DAYS_PER_MONTH,
    MonthlyEstimate,
    Workload,
    estimate_monthly,
    request_cost,
)
from tierwise.core.catalog import default_catalog
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy, default_policy
from tierwise.core.tiers import Tier

D = Decimal
MILLION = D(1_000_000)
PRODUCT_MIX = {Tier.HAIKU: D("0.5"), Tier.SONNET: D("0.3"), Tier.OPUS: D("0.2")}


@pytest.fixture
def policy() -> Policy:
    return default_policy()


def rates(model: str) -> tuple[Decimal, Decimal, Decimal]:
    """input, output and cache-read USD per million tokens, from the catalog."""
    prices = default_catalog().get(model).prices
    assert prices.input is not None
    assert prices.output is not None
    assert prices.cache_read is not None
    return prices.input, prices.output, prices.cache_read


def test_a_month_is_a_twelfth_of_a_year() -> None:
    assert abs(DAYS_PER_MONTH - D(365) / 12) < D("0.05")


def test_one_request_on_one_model() -> None:
    workload = Workload(requests_per_day=D(1), input_tokens=1_000, output_tokens=100)
    inp, out, _ = rates("claude-sonnet-5-5")
    assert request_cost(workload, "claude-sonnet-5-5") == (1_000 * inp + 100 * out) / MILLION


def test_monthly_estimate_for_a_simple_workload(policy: Policy) -> None:
    # 100 requests a day, 1,000 tokens in and 100 out, no cache, no batch
    workload = Workload(requests_per_day=D(100), input_tokens=1_000, output_tokens=100)
    estimate = estimate_monthly(workload, PRODUCT_MIX, policy)
    requests = 100 * DAYS_PER_MONTH
    expected: dict[Tier, Decimal] = {}
    for tier in (Tier.HAIKU, Tier.SONNET, Tier.OPUS):
        inp, out, _ = rates(policy.model_for(tier).id)
        expected[tier] = requests * (1_000 * inp + 100 * out) / MILLION
    assert estimate.per_tier == expected
    routed = D("0.5") * expected[Tier.HAIKU] + D("0.3") * expected[Tier.SONNET]
    routed += D("0.2") * expected[Tier.OPUS]
    assert estimate.routed == routed
    assert estimate.mix == PRODUCT_MIX
    assert estimate.savings_against(Tier.OPUS) == 1 - routed / expected[Tier.OPUS]
    against_haiku = estimate.savings_against(Tier.HAIKU)
    assert against_haiku is not None
    assert against_haiku < 0  # routing costs more than sending everything to Haiku


def test_all_on_one_tier_costs_that_tiers_figure(policy: Policy) -> None:
    workload = Workload(requests_per_day=D(40), input_tokens=3_000, output_tokens=800)
    estimate = estimate_monthly(workload, {Tier.SONNET: D(1)}, policy)
    assert estimate.routed == estimate.per_tier[Tier.SONNET]
    assert estimate.savings_against(Tier.SONNET) == 0


def test_cache_hit_share_is_priced_as_cache_reads() -> None:
    workload = Workload(
        requests_per_day=D(1), input_tokens=1_000, output_tokens=100, cache_hit_share=D("0.25")
    )
    inp, out, read = rates("claude-opus-5-5")
    expected = (750 * inp + 250 * read + 100 * out) / MILLION
    assert request_cost(workload, "claude-opus-5-5") == expected
    assert read < inp  # so the cached share makes the request cheaper
    plain = Workload(requests_per_day=D(1), input_tokens=1_000, output_tokens=100)
    assert request_cost(workload, "claude-opus-5-5") < request_cost(plain, "claude-opus-5-5")


@pytest.mark.parametrize(("share", "factor"), [("1", "0.5"), ("0.5", "0.75"), ("0", "1")])
def test_batch_share_is_billed_at_half_price(share: str, factor: str) -> None:
    plain = Workload(requests_per_day=D(1), input_tokens=2_000, output_tokens=500)
    batched = Workload(
        requests_per_day=D(1), input_tokens=2_000, output_tokens=500, batch_share=D(share)
    )
    inp, out, _ = rates("claude-haiku-5-5")
    standard = (2_000 * inp + 500 * out) / MILLION
    assert request_cost(plain, "claude-haiku-5-5") == standard
    assert request_cost(batched, "claude-haiku-5-5") == standard * D(factor)


@pytest.mark.parametrize(
    "mix",
    [
        {Tier.HAIKU: D("0.5"), Tier.SONNET: D("0.3")},
        {Tier.HAIKU: D("0.7"), Tier.SONNET: D("0.3"), Tier.OPUS: D("0.2")},
        {},
    ],
)
def test_a_mix_not_adding_up_to_one_is_refused(policy: Policy, mix: dict[Tier, Decimal]) -> None:
    workload = Workload(requests_per_day=D(10), input_tokens=100, output_tokens=10)
    with pytest.raises(InputError) as caught:
        estimate_monthly(workload, mix, policy)
    assert "add up to 1" in str(caught.value)


@pytest.mark.parametrize("share", ["-1", "NaN", "1.5"])
def test_a_share_outside_zero_to_one_is_refused(policy: Policy, share: str) -> None:
    # -1 and 2 add up to 1, but a negative share of requests means nothing
    mix = {Tier.HAIKU: D(share), Tier.OPUS: 1 - D(share)}
    workload = Workload(requests_per_day=D(10), input_tokens=100, output_tokens=10)
    with pytest.raises(InputError):
        estimate_monthly(workload, mix, policy)


def test_a_tier_that_is_not_enabled_is_refused(policy: Policy) -> None:
    workload = Workload(requests_per_day=D(10), input_tokens=100, output_tokens=10)
    with pytest.raises(InputError) as caught:
        estimate_monthly(workload, {Tier.FABLE: D(1)}, policy)
    assert "fable" in str(caught.value)


@pytest.mark.parametrize(
    "fields",
    [
        {"requests_per_day": D(-1)},
        {"requests_per_day": D("NaN")},
        {"requests_per_day": D("Infinity")},
        {"input_tokens": -1},
        {"output_tokens": -5},
        {"cache_hit_share": D("1.5")},
        {"cache_hit_share": D("-0.1")},
        {"cache_hit_share": D("NaN")},
        {"batch_share": D(2)},
    ],
)
def test_a_workload_that_makes_no_sense_is_refused(fields: dict[str, object]) -> None:
    values: dict[str, object] = {"requests_per_day": D(1), "input_tokens": 1, "output_tokens": 1}
    values.update(fields)
    with pytest.raises(InputError):
        Workload(**values)  # type: ignore[arg-type]


def test_no_requests_means_no_savings_figure(policy: Policy) -> None:
    workload = Workload(requests_per_day=D(0), input_tokens=100, output_tokens=10)
    estimate = estimate_monthly(workload, PRODUCT_MIX, policy)
    assert estimate.routed == 0
    assert estimate.savings_against(Tier.OPUS) is None


# ---------------------------------------------------------------- advice ($100 / $500)


def advice_at(spend: str, routed: str | None = None) -> str:
    """The advice at ``spend`` a month on Opus; routing halves it unless ``routed`` says."""
    cost = D(spend) / 2 if routed is None else D(routed)
    estimate = MonthlyEstimate(mix={Tier.OPUS: D(1)}, routed=cost, per_tier={Tier.OPUS: D(spend)})
    return estimate.advice(Tier.OPUS)


@pytest.mark.parametrize("spend", ["0", "42", "99.99"])
def test_under_100_dollars_manual_selection_is_enough(spend: str) -> None:
    assert "manual model selection is enough" in advice_at(spend)


@pytest.mark.parametrize("spend", ["100", "250", "499.99"])
def test_between_100_and_500_dollars_routing_is_marginal(spend: str) -> None:
    advice = advice_at(spend)
    assert "marginal" in advice
    assert "manual model selection is enough" not in advice


@pytest.mark.parametrize("spend", ["500", "12000"])
def test_from_500_dollars_a_router_pays_for_itself(spend: str) -> None:
    assert "pays for itself" in advice_at(spend)


@pytest.mark.parametrize("routed", ["12000", "15000"])
def test_a_mix_that_saves_nothing_never_says_routing_pays(routed: str) -> None:
    advice = advice_at("12000", routed)
    assert "pays for itself" not in advice
    assert "saves nothing" in advice


def test_advice_names_the_saving() -> None:
    assert "routing saves about $6,000 a month (50%)" in advice_at("12000")


def test_advice_names_the_spend_and_the_baseline_tier() -> None:
    advice = advice_at("1234")
    assert "$1,234" in advice
    assert "opus" in advice


def test_advice_follows_the_workload(policy: Policy) -> None:
    small = Workload(requests_per_day=D(10), input_tokens=500, output_tokens=100)
    large = Workload(requests_per_day=D(10_000), input_tokens=5_000, output_tokens=1_000)
    assert "manual" in estimate_monthly(small, PRODUCT_MIX, policy).advice(Tier.OPUS)
    assert "pays for itself" in estimate_monthly(large, PRODUCT_MIX, policy).advice(Tier.OPUS)
