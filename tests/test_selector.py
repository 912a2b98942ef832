"""The Model Selector: a decision plus its estimated cost on the chosen and the baseline model.

Expected costs are computed here from the catalog's published rates (tokens × USD per million),
not through ``pricing.cost``, so a mistake in the chain would show.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tierwise.core.catalog import default_catalog
from tierwise.core.errors import InputError
from tierwise.core.policy import load_policy
from tierwise.core.recommend import DEFAULT_OUTPUT_TOKENS, recommend
from tierwise.core.request import RouteRequest
from tierwise.learned.pipeline import Router

MILLION = Decimal(1_000_000)

POLICY = """
strategies = ["task_type", "default"]
[tiers]
default = "sonnet"
[routes]
tiny = { tier = "haiku", max_tokens = 300 }
small = { tier = "haiku", max_tokens = 4096 }
big = { tier = "opus", max_tokens = 32000 }
"""


@pytest.fixture
def router(tmp_path: Path) -> Router:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return Router(load_policy(path))


def by_hand(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """Standard-rate cost from the catalog's rates, long-prompt tier included."""
    spec = default_catalog().get(model)
    prices = spec.prices
    if spec.long_prompt is not None and input_tokens > spec.long_prompt.threshold_tokens:
        prices = spec.long_prompt.prices
    assert prices.input is not None
    assert prices.output is not None
    return (input_tokens * prices.input + output_tokens * prices.output) / MILLION


def test_estimate_prices_the_documented_usage_on_the_chosen_model(router: Router) -> None:
    request = RouteRequest(text="Sort these keys", task_type="small", context_tokens=2_000)
    rec = recommend(request, router=router, output_tokens=700)
    assert rec.decision.model == router.policy.model_for(rec.decision.tier).id
    assert (rec.input_tokens, rec.output_tokens) == (2_000, 700)
    assert rec.estimated_cost.total == by_hand(rec.decision.model, 2_000, 700)
    assert rec.estimated_cost.model == rec.decision.model


def test_baseline_prices_the_same_usage_on_the_top_tier(router: Router) -> None:
    request = RouteRequest(text="Sort these keys", task_type="small", context_tokens=2_000)
    rec = recommend(request, router=router, output_tokens=700)
    top = router.policy.model_for(router.policy.top_tier).id
    assert rec.decision.baseline_model == top
    assert rec.baseline_cost.total == by_hand(top, 2_000, 700)


def test_baseline_is_the_requested_model_when_one_is_named(router: Router) -> None:
    request = RouteRequest(
        text="Sort these keys",
        task_type="small",
        context_tokens=2_000,
        requested_model="claude-sonnet-4-6",
    )
    rec = recommend(request, router=router, output_tokens=700)
    assert rec.baseline_cost.total == by_hand("claude-sonnet-4-6", 2_000, 700)


def test_savings_fraction(router: Router) -> None:
    request = RouteRequest(text="Sort these keys", task_type="small", context_tokens=5_000)
    rec = recommend(request, router=router, output_tokens=1_000)
    ours = by_hand(rec.decision.model, 5_000, 1_000)
    top = by_hand(rec.decision.baseline_model, 5_000, 1_000)
    assert ours < top
    assert rec.savings_fraction == 1 - ours / top
    assert rec.as_dict()["savings_fraction"] == round(float(1 - ours / top), 4)


def test_no_savings_when_the_top_tier_is_chosen(router: Router) -> None:
    rec = recommend(RouteRequest(text="Design it", task_type="big"), router=router)
    assert rec.decision.model == rec.decision.baseline_model
    assert rec.savings_fraction == 0


def test_savings_fraction_is_none_when_the_baseline_costs_nothing(router: Router) -> None:
    request = RouteRequest(text="x", task_type="small", context_tokens=0)
    rec = recommend(request, router=router, output_tokens=0)
    assert rec.baseline_cost.total == 0
    assert rec.savings_fraction is None
    assert rec.as_dict()["savings_fraction"] is None


def test_input_tokens_default_to_the_routers_estimate(router: Router) -> None:
    rec = recommend(RouteRequest(text="Sort these keys", task_type="small"), router=router)
    assert rec.input_tokens == rec.decision.context_tokens > 0


@pytest.mark.parametrize(
    ("task_type", "expected"), [("tiny", 300), ("small", min(4096, DEFAULT_OUTPUT_TOKENS))]
)
def test_assumed_answer_is_the_smaller_of_the_budget_and_the_default(
    router: Router, task_type: str, expected: int
) -> None:
    rec = recommend(RouteRequest(text="Sort these keys", task_type=task_type), router=router)
    assert rec.output_tokens == expected
    assert rec.estimated_cost.total == by_hand(rec.decision.model, rec.input_tokens, expected)


def test_a_long_prompt_is_priced_at_the_long_prompt_rates(router: Router) -> None:
    spec = default_catalog().get(router.policy.model_for(router.policy.ladder[0]).id)
    assert spec.long_prompt is not None
    tokens = spec.long_prompt.threshold_tokens + 50_000
    request = RouteRequest(text="Sort these keys", task_type="small", context_tokens=tokens)
    rec = recommend(request, router=router, output_tokens=100)
    assert rec.decision.model == spec.id
    assert rec.estimated_cost.long_prompt
    assert rec.estimated_cost.total == by_hand(spec.id, tokens, 100)


def test_negative_output_tokens_are_refused(router: Router) -> None:
    with pytest.raises(InputError) as caught:
        recommend(RouteRequest(text="hi"), router=router, output_tokens=-1)
    assert "output_tokens" in str(caught.value)


def test_as_dict_is_json_ready_with_costs_in_usd(router: Router) -> None:
    request = RouteRequest(text="Sort these keys", task_type="small", context_tokens=1_234)
    rec = recommend(request, router=router, output_tokens=567)
    data = json.loads(json.dumps(rec.as_dict()))
    assert data["model"] == rec.decision.model
    assert data["tier"] == rec.decision.tier.value
    assert data["input_tokens_estimate"] == 1_234
    assert data["output_tokens_assumed"] == 567
    ours = by_hand(rec.decision.model, 1_234, 567)
    top = by_hand(rec.decision.baseline_model, 1_234, 567)
    assert data["estimated_cost_usd"] == pytest.approx(float(ours), abs=1e-6)
    assert data["baseline_cost_usd"] == pytest.approx(float(top), abs=1e-6)
    assert isinstance(data["trace"], list)


def test_without_a_router_the_default_policy_is_used() -> None:
    rec = recommend(RouteRequest(text="Explain what a closure is", task_type="explain"))
    assert rec.decision.task_type == "explain"
    assert rec.estimated_cost.total > 0
