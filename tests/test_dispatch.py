"""MessagesRouter: aliases, pass-through, rewrite mode, hints, prefills and fallbacks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tierwise.core.catalog import default_catalog
from tierwise.core.errors import InputError, UnknownAliasError, UnknownTaskTypeError
from tierwise.core.policy import Policy, load_policy
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import HINT_HEADERS, Hints, header_safe, without_hint_metadata
from tierwise.messages.routing import MessagesRouter

POLICY_FILE = Path(__file__).parent / "data" / "dispatch_policy.toml"
SIMPLE = "Fix the typo in the README"
HARD = "Prove that the lock-free queue has no race condition"
MIDDLE = "Tell me about queues"  # no keyword: the default tier, sonnet


def policy(aliases: list[str] | None = None, **proxy: Any) -> Policy:
    base = load_policy(POLICY_FILE)
    update: dict[str, Any] = {"proxy": base.config.proxy.model_copy(update=proxy)}
    if aliases is not None:
        update["aliases"] = aliases
    config = base.config.model_copy(update=update, deep=True)
    return Policy(config=config, source=base.source, models=base.models, warnings=base.warnings)


def dispatcher(**proxy: Any) -> MessagesRouter:
    return MessagesRouter(Router(policy(**proxy)))


def body(text: str = SIMPLE, model: str = "auto", **fields: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 512,
        "messages": [{"role": "user", "content": text}],
        **fields,
    }


# -- aliases and pass-through ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tier", "model"),
    [
        (SIMPLE, Tier.HAIKU, "claude-haiku-5-5"),
        (MIDDLE, Tier.SONNET, "claude-sonnet-5-5"),
        (HARD, Tier.OPUS, "claude-opus-5-5"),
    ],
)
def test_an_alias_is_routed(text: str, tier: Tier, model: str) -> None:
    routed = dispatcher().route(body(text, stream=True), Hints())
    assert (routed.model, routed.tier, routed.body["model"]) == (model, tier, model)
    assert routed.decision is not None
    assert routed.decision.model == model
    assert routed.requested_model == "auto"
    assert routed.stream
    assert not routed.pinned
    assert routed.reason.isascii()
    assert len(routed.reason) <= 200
    assert routed.body["messages"] == body(text)["messages"]


def test_every_policy_alias_routes() -> None:
    dispatch = MessagesRouter(Router(policy(aliases=["auto", "tierwise-auto", "cheap"])))
    assert dispatch.known_aliases() == ["auto", "tierwise-auto", "cheap"]
    assert dispatch.route(body(model="cheap"), Hints()).decision is not None
    assert dispatch.routes_model("tierwise-auto")


def test_a_concrete_id_passes_through_untouched() -> None:
    original = body(
        HARD,
        model="claude-haiku-5-5",
        tool_choice={"type": "any"},
        thinking={"type": "enabled", "budget_tokens": 2048},
        temperature=0.3,
        max_tokens=10**6,
        unknown_field={"x": 1},
    )
    raw = json.dumps(original)
    routed = dispatcher().route(original, Hints(), api_version="2026-10-21")
    assert json.dumps(routed.body) == raw
    assert routed.body is not original
    assert (routed.model, routed.tier, routed.decision) == ("claude-haiku-5-5", Tier.HAIKU, None)
    assert routed.reason == "pass-through"
    assert routed.adjustments == ()
    assert json.dumps(original) == raw


def test_a_concrete_id_outside_the_catalog_passes_through() -> None:
    routed = dispatcher(rewrite_concrete_models=True).route(body(model="claude-next-7"), Hints())
    assert (routed.model, routed.tier, routed.decision) == ("claude-next-7", None, None)
    assert not dispatcher().routes_model("claude-next-7")


@pytest.mark.parametrize("model", ["gpt-4o", "Auto", "sonnet", ""])
def test_an_unknown_alias_names_the_known_ones(model: str) -> None:
    with pytest.raises(UnknownAliasError, match="auto, tierwise-auto") as caught:
        dispatcher().route(body(model=model), Hints())
    assert isinstance(caught.value, InputError)


def test_bad_bodies_and_bad_hints_are_input_errors() -> None:
    with pytest.raises(InputError, match="max_tokens: Field required"):
        dispatcher().route(
            {"model": "auto", "messages": [{"role": "user", "content": "x"}]}, Hints()
        )
    with pytest.raises(UnknownTaskTypeError):
        dispatcher().route(body(), Hints(task_type="no-such-task"))


def test_an_image_only_request_still_routes_to_the_default_tier() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}}
    routed = dispatcher().route(
        body(model="auto", messages=[{"role": "user", "content": [image]}]), Hints()
    )
    assert routed.tier is Tier.SONNET
    assert "no text to judge" in routed.reason
    assert routed.decision is not None
    assert routed.decision.baseline_model == "claude-opus-5-5"


# -- rewrite mode ------------------------------------------------------------------------------


def test_rewrite_mode_moves_down_to_the_policy_model() -> None:
    routed = dispatcher(rewrite_concrete_models=True).route(
        body(SIMPLE, model="claude-opus-4-8"), Hints()
    )
    assert (routed.model, routed.tier) == ("claude-haiku-5-5", Tier.HAIKU)
    assert routed.reason.startswith("rewrite: claude-opus-4-8 -> claude-haiku-5-5")
    assert routed.decision is not None
    assert routed.decision.baseline_model == "claude-opus-4-8"


def test_rewrite_mode_never_goes_above_the_requested_tier() -> None:
    requested = "claude-sonnet-4-5-20250929"
    routed = dispatcher(rewrite_concrete_models=True).route(body(HARD, model=requested), Hints())
    assert routed.model == requested
    assert routed.tier is Tier.SONNET
    assert routed.body == body(HARD, model=requested)
    assert routed.adjustments == ()
    assert routed.decision is not None
    assert routed.decision.tier is Tier.SONNET
    assert "above" in routed.reason


def test_rewrite_mode_keeps_the_exact_id_at_the_same_tier() -> None:
    requested = "claude-haiku-4-5-20251001"
    original = body(SIMPLE, model=requested, max_tokens=100_000)
    routed = dispatcher(rewrite_concrete_models=True).route(original, Hints())
    assert routed.model == requested
    assert routed.body == original  # not even max_tokens: the model did not change
    assert "kept" in routed.reason


def test_rewrite_mode_off_passes_concrete_ids_through() -> None:
    routed = dispatcher().route(body(SIMPLE, model="claude-opus-5-5"), Hints())
    assert (routed.model, routed.decision) == ("claude-opus-5-5", None)


# -- hints -----------------------------------------------------------------------------------


def test_hints_come_from_headers_first_then_metadata() -> None:
    request_body = body(
        metadata={
            "user_id": "u1",
            "tierwise_task_type": "format",
            "tierwise_domain": "docs",
            "tierwise_user_tier": "free",
        }
    )
    headers = {"X-Tierwise-Task-Type": "architect", "x-tierwise-domain": "  "}
    hints = Hints.from_request(headers, request_body)
    assert hints == Hints(task_type="architect", domain="docs", user_tier="free")
    assert Hints.from_request({}, body()) == Hints()
    assert Hints.from_request({}, body(metadata="nonsense")) == Hints()
    assert HINT_HEADERS == ("x-tierwise-task-type", "x-tierwise-domain", "x-tierwise-user-tier")


def test_hints_route_and_are_stripped_from_the_forwarded_body() -> None:
    request_body = body(SIMPLE, metadata={"user_id": "u1", "tierwise_task_type": "architect"})
    snapshot = copy.deepcopy(request_body)
    routed = dispatcher().route(request_body, Hints.from_request({}, request_body))
    assert routed.tier is Tier.OPUS
    assert routed.body["metadata"] == {"user_id": "u1"}
    assert request_body == snapshot


def test_hint_only_metadata_is_dropped_entirely() -> None:
    request_body = body(model="claude-haiku-5-5", metadata={"tierwise_domain": "docs"})
    routed = dispatcher().route(request_body, Hints.from_request({}, request_body))
    assert "metadata" not in routed.body
    assert without_hint_metadata({"metadata": {"user_id": "u"}}) == {"metadata": {"user_id": "u"}}


def test_user_tier_hint_caps_the_tier() -> None:
    routed = dispatcher().route(body(HARD), Hints(user_tier="free"))
    assert routed.tier is Tier.HAIKU


# -- sanitising and prefills -------------------------------------------------------------------


def test_a_routed_body_is_sanitised_for_its_model() -> None:
    original = body(
        HARD,
        tool_choice={"type": "tool", "name": "grep"},
        temperature=0.1,
        max_tokens=200_000,
    )
    routed = dispatcher().route(original, Hints(), api_version="2026-10-21")
    assert routed.model == "claude-opus-5-5"
    assert routed.body["tool_choice"] == {"type": "auto"}
    assert "temperature" not in routed.body
    assert routed.body["max_tokens"] == 128_000
    assert len(routed.adjustments) == 3
    assert all(note.isascii() for note in routed.adjustments)
    assert original["tool_choice"] == {"type": "tool", "name": "grep"}


def prefilled(text: str, model: str = "auto") -> dict[str, Any]:
    return body(
        text,
        model=model,
        messages=[
            {"role": "user", "content": text},
            {"role": "assistant", "content": "{"},
        ],
    )


def test_a_prefill_is_never_switched_to_a_model_that_rejects_it() -> None:
    routed = dispatcher(rewrite_concrete_models=True).route(
        prefilled(SIMPLE, "claude-sonnet-4-5"), Hints()
    )
    assert routed.model == "claude-sonnet-4-5"  # haiku 5.5 would reject the prefill
    assert "prefill" in routed.reason
    assert routed.body == prefilled(SIMPLE, "claude-sonnet-4-5")


def test_a_prefill_moves_to_the_closest_tier_that_accepts_it() -> None:
    base = load_policy(POLICY_FILE)
    tiers = base.config.tiers.model_copy(update={"sonnet": "claude-sonnet-4-5"})
    config = base.config.model_copy(update={"tiers": tiers})
    models = {**base.models}
    models[Tier.SONNET] = default_catalog().get("claude-sonnet-4-5")
    dispatch = MessagesRouter(
        Router(Policy(config=config, source="test", models=models, warnings=()))
    )
    routed = dispatch.route(prefilled(SIMPLE), Hints())
    assert routed.model == "claude-sonnet-4-5"
    assert routed.tier is Tier.SONNET
    assert routed.decision is not None
    assert routed.decision.trace[-1].strategy == "prefill"


def test_a_prefill_with_no_accepting_tier_is_sent_as_is() -> None:
    routed = dispatcher().route(prefilled(SIMPLE), Hints())
    assert routed.model == "claude-haiku-5-5"
    assert "no enabled tier accepts an assistant prefill" in routed.reason
    assert routed.body["messages"] == prefilled(SIMPLE)["messages"]


# -- fallbacks -------------------------------------------------------------------------------


def test_retarget_re_sanitises_from_the_callers_body() -> None:
    dispatch = dispatcher()
    original = body(
        HARD,
        tool_choice={"type": "any"},
        metadata={"tierwise_domain": "security", "user_id": "u"},
        stream=True,
    )
    routed = dispatch.route(original, Hints(), api_version="2023-06-01")
    assert routed.body["tool_choice"] == {"type": "auto"}
    fallback = dispatch.retarget(routed, "claude-haiku-5-5")
    assert fallback.model == fallback.body["model"] == "claude-haiku-5-5"
    assert fallback.tier is Tier.HAIKU
    assert fallback.body["tool_choice"] == {"type": "any"}  # haiku 5.5 accepts forced tools
    assert fallback.body["metadata"] == {"user_id": "u"}
    assert fallback.reason.startswith("fallback to claude-haiku-5-5 after claude-opus-5-5")
    assert fallback.decision is not None
    assert fallback.decision.model == "claude-haiku-5-5"
    assert fallback.decision.trace[-1].strategy == "fallback"
    assert fallback.stream
    assert fallback.conversation_key == routed.conversation_key
    again = dispatch.retarget(fallback, "claude-sonnet-5-5", api_version="2026-10-21")
    assert again.body["tool_choice"] == {"type": "auto"}
    assert again.api_version == "2026-10-21"


def test_retarget_back_to_the_requested_model_sends_the_callers_body() -> None:
    dispatch = dispatcher(rewrite_concrete_models=True)
    original = body(SIMPLE, model="claude-opus-4-8", tool_choice={"type": "any"})
    routed = dispatch.route(original, Hints())
    assert routed.model == "claude-haiku-5-5"
    back = dispatch.retarget(routed, "claude-opus-4-8")
    assert back.body == original
    assert back.adjustments == ()


def test_retarget_reports_a_prefill_the_target_rejects() -> None:
    dispatch = dispatcher(rewrite_concrete_models=True)
    routed = dispatch.route(prefilled(SIMPLE, "claude-sonnet-4-5"), Hints())
    assert dispatch.can_retarget(routed, "claude-haiku-4-5")
    assert not dispatch.can_retarget(routed, "claude-opus-5-5")
    fallback = dispatch.retarget(routed, "claude-opus-5-5")
    assert fallback.adjustments[-1] == "assistant prefill kept: claude-opus-5-5 may reject it"


def test_record_served_pins_the_answering_model() -> None:
    dispatch = dispatcher()
    routed = dispatch.route(body(), Hints())
    dispatch.record_served(routed, "claude-sonnet-5-5")
    assert dispatch.pins.get(routed.conversation_key) == "claude-sonnet-5-5"


def test_count_tokens_bodies_route_without_max_tokens() -> None:
    routed = dispatcher().route_count_tokens(
        {"model": "auto", "messages": [{"role": "user", "content": HARD}]}, Hints()
    )
    assert routed.model == "claude-opus-5-5"
    assert "max_tokens" not in routed.body


def test_header_safe_is_one_short_ascii_line() -> None:
    assert header_safe("keywords: decide haiku — 'typo' → ok\n\tmore") == (
        "keywords: decide haiku - 'typo' -> ok more"
    )
    assert header_safe("翻译") == "??"
    long = header_safe("x" * 500)
    assert len(long) == 200
    assert long.endswith("...")
