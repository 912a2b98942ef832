"""The routing pipeline: how verdicts combine into one decision.

Each test writes a small policy of its own, so the pipeline's semantics are pinned without
depending on the shipped policy's keyword tuning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tierwise.core.catalog import default_catalog
from tierwise.core.decision import Action, Decision, Verdict
from tierwise.core.errors import (
    EmptyPromptError,
    InputError,
    PromptTooLargeError,
    UnknownTaskTypeError,
    UnknownTierError,
)
from tierwise.core.features import PromptFeatures
from tierwise.core.policy import default_policy, load_policy
from tierwise.core.request import RouteRequest
from tierwise.core.router import Router
from tierwise.core.strategies.base import SoFar
from tierwise.core.tiers import Tier

POLICY = """
strategies = ["task_type", "domain", "user_tier", "context_size", "default"]

[tiers]
default = "sonnet"
max_tokens = { haiku = 2000, sonnet = 6000, opus = 12000 }

[routes]
small = { tier = "haiku", max_tokens = 1000 }
medium = { tier = "sonnet" }
big = { tier = "opus", max_tokens = 30000 }

[domains]
docs = "haiku"
database = "opus"

[user_tiers]
free = { ceiling = "haiku" }
enterprise = { floor = "opus" }

[context]
large_read_tokens = 12000
large_read_tier = "sonnet"
deep_read_tokens = 40000
deep_read_tier = "opus"

[limits]
max_prompt_chars = 100
"""


def make_router(tmp_path: Path, toml: str = POLICY) -> Router:
    path = tmp_path / "policy.toml"
    path.write_text(toml, encoding="utf-8")
    return Router(load_policy(path))


@pytest.fixture
def router(tmp_path: Path) -> Router:
    return make_router(tmp_path)


def decide(router: Router, text: str = "do the thing", **hints: object) -> Decision:
    return router.decide(RouteRequest(text=text, **hints))  # type: ignore[arg-type]


def strategies_in(decision: Decision) -> list[str]:
    return [verdict.strategy for verdict in decision.trace]


def model_of(router: Router, tier: Tier) -> str:
    return router.policy.model_for(tier).id


# ---------------------------------------------------------------- combining verdicts


def test_nothing_decisive_falls_back_to_the_default_tier(router: Router) -> None:
    decision = decide(router)
    assert decision.tier is Tier.SONNET
    assert decision.model == model_of(router, Tier.SONNET)
    assert decision.task_type is None
    assert decision.max_tokens == 6000  # the tier's budget
    assert decision.reason.startswith("default: decide sonnet")


def test_the_first_decide_wins(router: Router) -> None:
    decision = decide(router, task_type="small", domain="database")
    assert decision.tier is Tier.HAIKU
    assert decision.task_type == "small"
    assert decision.reason.startswith("task_type: decide haiku")
    # strategies that can only decide are skipped once a tier is decided
    assert "domain" not in strategies_in(decision)
    assert "default" not in strategies_in(decision)
    assert "user_tier" in strategies_in(decision)


def test_a_later_decider_is_used_when_earlier_ones_pass(router: Router) -> None:
    decision = decide(router, domain="database")
    assert decision.tier is Tier.OPUS
    assert decision.reason.startswith("domain: decide opus")
    assert strategies_in(decision)[:2] == ["task_type", "domain"]
    assert decision.trace[0].action is Action.PASS


def test_a_floor_raises_the_decided_tier(router: Router) -> None:
    decision = decide(router, task_type="small", user_tier="enterprise")
    assert decision.tier is Tier.OPUS
    assert decision.model == model_of(router, Tier.OPUS)
    assert "raised to opus by user_tier" in decision.reason
    assert decision.task_type == "small"  # the task is still what was decided


def test_a_floor_below_the_decided_tier_changes_nothing(router: Router) -> None:
    decision = decide(router, task_type="medium", context_tokens=20_000)  # floor sonnet
    assert decision.tier is Tier.SONNET
    assert "raised" not in decision.reason


def test_a_ceiling_caps_the_decided_tier(router: Router) -> None:
    decision = decide(router, task_type="big", user_tier="free")
    assert decision.tier is Tier.HAIKU
    assert decision.model == model_of(router, Tier.HAIKU)
    assert "capped at haiku by user_tier" in decision.reason


def test_a_ceiling_wins_over_a_floor(router: Router) -> None:
    # context_size sets a floor of opus; the free plan's ceiling is haiku
    decision = decide(router, task_type="big", user_tier="free", context_tokens=50_000)
    actions = {v.strategy: v.action for v in decision.trace}
    assert actions["context_size"] is Action.FLOOR
    assert actions["user_tier"] is Action.CEILING
    assert decision.tier is Tier.HAIKU
    assert "capped at haiku" in decision.reason


def test_free_user_caps_at_haiku(router: Router) -> None:
    decision = decide(router, user_tier="free")
    assert decision.tier is Tier.HAIKU
    assert decision.model == model_of(router, Tier.HAIKU)


def test_free_user_stays_on_haiku_when_a_later_floor_would_raise_it(router: Router) -> None:
    # The route decides haiku, within the free plan; context_size (after user_tier) then sets
    # a floor of opus. The plan's ceiling is a promise and must still hold.
    decision = decide(router, task_type="small", user_tier="free", context_tokens=50_000)
    assert decision.tier is Tier.HAIKU


def test_user_tier_names_are_case_insensitive(router: Router) -> None:
    assert decide(router, user_tier=" FREE ").tier is Tier.HAIKU


def test_unknown_user_tier_is_an_error_listing_the_known_ones(router: Router) -> None:
    with pytest.raises(UnknownTierError) as caught:
        decide(router, user_tier="platinum")
    message = str(caught.value)
    assert "'platinum'" in message
    assert "enterprise" in message
    assert "free" in message


# ---------------------------------------------------------------- the ladder


def test_a_disabled_tier_maps_to_the_nearest_enabled_tier_below(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        '[tiers]\nenabled = ["haiku", "opus"]\ndefault = "haiku"\n'
        '[routes]\nmedium = { tier = "sonnet" }\n',
    )
    decision = decide(router, task_type="medium")
    assert decision.tier is Tier.HAIKU
    assert decision.model == model_of(router, Tier.HAIKU)


def test_a_disabled_tier_with_nothing_below_maps_to_the_cheapest_enabled(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        '[tiers]\nenabled = ["sonnet", "opus"]\ndefault = "opus"\n'
        '[routes]\nsmall = { tier = "haiku" }\n',
    )
    assert decide(router, task_type="small").tier is Tier.SONNET


# ---------------------------------------------------------------- context windows

WINDOW_POLICY = """
strategies = ["task_type", "default"]
[tiers]
haiku = "claude-haiku-4-5"
default = "haiku"
[routes]
small = { tier = "haiku" }
"""


def test_a_prompt_that_fits_stays_on_its_tier(tmp_path: Path) -> None:
    router = make_router(tmp_path, WINDOW_POLICY)
    decision = decide(router, context_tokens=150_000)
    assert decision.model == "claude-haiku-4-5"
    assert "window" not in strategies_in(decision)


def test_a_prompt_larger_than_the_window_moves_up_to_a_model_that_fits(tmp_path: Path) -> None:
    router = make_router(tmp_path, WINDOW_POLICY)
    haiku_window = default_catalog().get("claude-haiku-4-5").context_window
    assert haiku_window < 500_000
    decision = decide(router, task_type="small", context_tokens=500_000)
    assert decision.tier is Tier.SONNET
    assert default_catalog().get(decision.model).context_window >= 500_000
    window = decision.trace[-1]
    assert window.strategy == "window"
    assert window.tier is Tier.SONNET
    assert "claude-haiku-4-5" in window.reason
    assert window.reason in decision.reason
    assert decision.context_tokens == 500_000


def test_when_nothing_fits_the_largest_window_is_used(tmp_path: Path) -> None:
    router = make_router(tmp_path, WINDOW_POLICY)
    catalog = default_catalog()
    largest = max(catalog.get(model_of(router, t)).context_window for t in router.policy.ladder)
    decision = decide(router, context_tokens=largest + 1)
    assert catalog.get(decision.model).context_window == largest
    window = decision.trace[-1]
    assert window.strategy == "window"
    assert "every enabled model" in window.reason
    assert "largest" in window.reason
    assert decision.model in window.reason


def test_the_window_fit_overrides_a_ceiling(tmp_path: Path) -> None:
    # A model that cannot read the prompt would fail the request: routing never breaks it.
    toml = WINDOW_POLICY.replace('"task_type", "default"', '"task_type", "user_tier", "default"')
    router = make_router(tmp_path, toml + '[user_tiers]\nfree = { ceiling = "haiku" }\n')
    decision = decide(router, user_tier="free", context_tokens=500_000)
    assert [v.action for v in decision.trace if v.strategy == "user_tier"] == [Action.CEILING]
    assert decision.model != "claude-haiku-4-5"
    assert default_catalog().get(decision.model).context_window >= 500_000
    assert "window" in strategies_in(decision)


# ---------------------------------------------------------------- budget, baseline, hints


def test_task_type_hint_uses_its_route(router: Router) -> None:
    decision = decide(router, task_type="small")
    assert (decision.tier, decision.max_tokens, decision.task_type) == (Tier.HAIKU, 1000, "small")


def test_a_route_without_max_tokens_uses_the_tiers_budget(router: Router) -> None:
    decision = decide(router, task_type="medium")
    assert decision.max_tokens == router.policy.config.tiers.max_tokens[Tier.SONNET]


def test_task_type_hint_is_case_insensitive(router: Router) -> None:
    decision = decide(router, task_type=" Big ")
    assert decision.tier is Tier.OPUS
    assert decision.task_type == "big"


def test_unknown_task_type_is_an_error_listing_the_known_ones(router: Router) -> None:
    with pytest.raises(UnknownTaskTypeError) as caught:
        decide(router, task_type="poetry")
    message = str(caught.value)
    assert "'poetry'" in message
    for known in ("small", "medium", "big"):
        assert known in message


def test_max_tokens_never_exceeds_the_models_max_output(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        WINDOW_POLICY.replace('{ tier = "haiku" }', '{ tier = "haiku", max_tokens = 100000 }'),
    )
    max_output = default_catalog().get("claude-haiku-4-5").max_output
    assert max_output < 100_000
    assert decide(router, task_type="small").max_tokens == max_output


@pytest.mark.parametrize("requested", [None, "auto"])
def test_baseline_for_routed_requests_is_the_top_tiers_model(
    router: Router, requested: str | None
) -> None:
    decision = decide(router, task_type="small", requested_model=requested)
    assert decision.baseline_model == model_of(router, Tier.OPUS)


def test_baseline_is_the_top_enabled_tier(tmp_path: Path) -> None:
    router = make_router(tmp_path, '[tiers]\nenabled = ["haiku", "sonnet"]\ndefault = "haiku"\n')
    assert decide(router).baseline_model == model_of(router, Tier.SONNET)


def test_baseline_for_a_concrete_model_is_that_model(router: Router) -> None:
    decision = decide(router, task_type="small", requested_model="claude-sonnet-4-6")
    assert decision.baseline_model == "claude-sonnet-4-6"


def test_aliases_come_from_the_policy(tmp_path: Path) -> None:
    router = make_router(tmp_path, 'aliases = ["route-me"]\n')
    assert router.is_alias("route-me")
    assert router.is_alias(None)
    assert not router.is_alias("auto")
    assert decide(router, requested_model="auto").baseline_model == "auto"


# ---------------------------------------------------------------- failing strategies


class Exploding:
    """A strategy with a bug in it."""

    name = "exploding"

    def __init__(self, only_decides: bool) -> None:
        self.only_decides = only_decides

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        raise RuntimeError("classifier backend unreachable")


@pytest.mark.parametrize("only_decides", [True, False])
def test_a_failing_strategy_passes_and_the_request_still_decides(
    router: Router, only_decides: bool
) -> None:
    names = [s.name for s in router._strategies]
    router._strategies[names.index("domain")] = Exploding(only_decides)
    decision = decide(router, user_tier="free")
    failed = [v for v in decision.trace if v.strategy == "exploding"]
    assert len(failed) == 1
    assert failed[0].action is Action.PASS
    assert "RuntimeError" in failed[0].reason
    assert "classifier backend unreachable" in failed[0].reason
    assert decision.tier is Tier.HAIKU  # the other strategies still applied


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n"])
def test_an_empty_prompt_is_refused(router: Router, text: str) -> None:
    with pytest.raises(EmptyPromptError):
        decide(router, text)


def test_a_prompt_over_the_limit_is_refused(router: Router) -> None:
    limit = router.policy.config.limits.max_prompt_chars
    assert decide(router, "x" * limit).model
    with pytest.raises(PromptTooLargeError) as caught:
        decide(router, "x" * (limit + 1))
    assert "max_prompt_chars" in str(caught.value)
    assert f"{limit:,}" in str(caught.value)


def test_negative_context_tokens_are_refused(router: Router) -> None:
    with pytest.raises(InputError) as caught:
        decide(router, context_tokens=-1)
    assert "context_tokens" in str(caught.value)


def test_context_tokens_are_estimated_when_not_given(router: Router) -> None:
    request = RouteRequest(text="Summarise this", system="Be brief.")
    decision = router.decide(request)
    assert decision.context_tokens == PromptFeatures.of(request).context_tokens > 0


# ---------------------------------------------------------------- the decision


def test_decision_as_dict_is_json_serialisable(router: Router) -> None:
    decision = decide(router, task_type="big", user_tier="free", context_tokens=50_000)
    data = json.loads(json.dumps(decision.as_dict()))
    assert data["model"] == decision.model
    assert data["tier"] == "haiku"
    assert data["max_tokens"] == decision.max_tokens
    assert data["reason"] == decision.reason
    assert data["task_type"] == "big"
    assert data["baseline_model"] == decision.baseline_model
    assert data["context_tokens"] == 50_000
    assert [v["strategy"] for v in data["trace"]] == strategies_in(decision)
    assert all({"strategy", "action", "reason"} <= v.keys() for v in data["trace"])


def test_router_without_a_policy_uses_the_default() -> None:
    assert Router().policy is default_policy()
