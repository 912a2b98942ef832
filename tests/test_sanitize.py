"""The sanitize table: each rule, applied only when the model changes, never mutating the caller."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tierwise.messages import sanitize
from tierwise.messages.sanitize import (
    RULES,
    accepts_prefill,
    has_prefill,
    rules_for,
    sanitize_for,
)

HELLO = [{"role": "user", "content": "hello"}]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "auto", "max_tokens": 1000, "messages": HELLO, **fields}


def test_the_model_is_set_and_nothing_else_changes_for_a_plain_body() -> None:
    result = sanitize_for(body(), "claude-sonnet-5-5")
    assert result.body == {**body(), "model": "claude-sonnet-5-5"}
    assert result.adjustments == ()


def test_a_request_that_keeps_its_model_is_never_touched() -> None:
    original = body(
        model="claude-opus-5-5",
        tool_choice={"type": "any"},
        thinking={"type": "disabled"},
        temperature=0.2,
        max_tokens=10**6,
    )
    result = sanitize_for(original, "claude-opus-5-5", api_version="2026-10-21")
    assert result.body == original
    assert result.body is not original
    assert result.adjustments == ()


@pytest.mark.parametrize("model", ["claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-2"])
@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "grep"}])
def test_forced_tool_choice_becomes_auto_where_rejected(model: str, choice: dict[str, Any]) -> None:
    result = sanitize_for(body(tool_choice={**choice, "disable_parallel_tool_use": True}), model)
    assert result.body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert result.adjustments == (
        f"tool_choice {choice['type']}->auto for {model} (forced tool use is rejected)",
    )


@pytest.mark.parametrize("model", ["claude-haiku-5-5", "claude-opus-5", "claude-haiku-4-5"])
def test_forced_tool_choice_is_kept_where_accepted(model: str) -> None:
    result = sanitize_for(body(tool_choice={"type": "any"}), model)
    assert result.body["tool_choice"] == {"type": "any"}
    assert result.adjustments == ()


def test_disabled_thinking_is_dropped_on_fable_5() -> None:
    result = sanitize_for(body(thinking={"type": "disabled"}), "claude-fable-5")
    assert "thinking" not in result.body
    assert result.adjustments == (
        "thinking disabled dropped for claude-fable-5 (thinking cannot be turned off)",
    )


def test_disabled_thinking_becomes_between_tools_on_sonnet_5_5() -> None:
    result = sanitize_for(body(thinking={"type": "disabled"}), "claude-sonnet-5-5")
    assert result.body["thinking"] == {"type": "between_tools"}


def test_disabled_thinking_depends_on_effort_on_haiku_5_5() -> None:
    low = sanitize_for(body(thinking={"type": "disabled"}), "claude-haiku-5-5")
    assert low.body["thinking"] == {"type": "disabled"}
    high = sanitize_for(
        body(thinking={"type": "disabled"}, output_config={"effort": "max"}), "claude-haiku-5-5"
    )
    assert "thinking" not in high.body
    assert high.body["output_config"] == {"effort": "max"}


def test_manual_thinking_becomes_adaptive_on_sonnet_5() -> None:
    thinking = {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}
    result = sanitize_for(body(thinking=thinking), "claude-sonnet-5")
    assert result.body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert result.adjustments == (
        "thinking.type enabled->adaptive for claude-sonnet-5 (manual budgets are rejected)",
    )


def test_manual_thinking_is_kept_where_accepted() -> None:
    thinking = {"type": "enabled", "budget_tokens": 2048}
    assert sanitize_for(body(thinking=thinking), "claude-haiku-4-5").body["thinking"] == thinking


def test_between_tools_elsewhere_becomes_disabled_or_is_dropped() -> None:
    thinking = {"type": "between_tools"}
    assert sanitize_for(body(thinking=thinking), "claude-sonnet-5").body["thinking"] == {
        "type": "disabled"
    }
    assert "thinking" not in sanitize_for(body(thinking=thinking), "claude-opus-5-5").body


def test_adaptive_thinking_is_dropped_on_models_with_manual_thinking_only() -> None:
    result = sanitize_for(body(thinking={"type": "adaptive"}), "claude-sonnet-4-5")
    assert "thinking" not in result.body
    kept = sanitize_for(body(thinking={"type": "adaptive"}), "claude-haiku-5-5")
    assert kept.body["thinking"] == {"type": "adaptive"}


def test_sampling_params_are_dropped_under_the_2026_api_version() -> None:
    original = body(temperature=0.2, top_p=0.9, top_k=5)
    result = sanitize_for(original, "claude-haiku-4-5", api_version="2026-10-21")
    assert not {"temperature", "top_p", "top_k"} & result.body.keys()
    assert result.adjustments == (
        "temperature, top_p, top_k dropped (removed in API version 2026-10-21)",
    )


def test_sampling_params_pass_under_2023_where_the_model_accepts_them() -> None:
    original = body(temperature=0.2)
    assert sanitize_for(original, "claude-haiku-4-5", api_version="2023-06-01").body[
        "temperature"
    ] == pytest.approx(0.2)
    assert sanitize_for(original, "claude-sonnet-4-6").body["temperature"] == pytest.approx(0.2)


def test_sampling_params_are_dropped_on_models_that_reject_them() -> None:
    result = sanitize_for(body(temperature=0.2), "claude-sonnet-5", api_version="2023-06-01")
    assert "temperature" not in result.body
    assert result.adjustments == (
        "temperature dropped (claude-sonnet-5 rejects non-default sampling parameters)",
    )


def test_max_tokens_is_clamped_to_the_target_max_output() -> None:
    result = sanitize_for(body(max_tokens=100_000), "claude-haiku-4-5")
    assert result.body["max_tokens"] == 64_000
    assert result.adjustments == ("max_tokens 100000->64000 (the max output of claude-haiku-4-5)",)
    assert sanitize_for(body(max_tokens=64_000), "claude-haiku-4-5").adjustments == ()


def test_dated_ids_use_their_model_rules() -> None:
    result = sanitize_for(body(max_tokens=100_000), "claude-haiku-4-5-20251001")
    assert result.body["max_tokens"] == 64_000
    rules = rules_for("claude-sonnet-4-5-20250929")
    assert rules is not None
    assert rules.prefill


def test_unknown_models_get_no_model_rules() -> None:
    original = body(tool_choice={"type": "any"}, thinking={"type": "disabled"}, max_tokens=10**7)
    result = sanitize_for(original, "claude-future-9")
    assert result.body == {**original, "model": "claude-future-9"}
    assert rules_for("claude-future-9") is None
    assert accepts_prefill("claude-future-9")


def test_the_callers_body_is_not_mutated_and_unknown_fields_pass() -> None:
    original = body(
        tool_choice={"type": "any"},
        thinking={"type": "enabled", "budget_tokens": 1024},
        temperature=0.5,
        max_tokens=999_999,
        future_field={"keep": [1, 2]},
        metadata={"user_id": "u"},
    )
    snapshot = copy.deepcopy(original)
    result = sanitize_for(original, "claude-opus-5-5", api_version="2026-10-21")
    assert original == snapshot
    assert result.body["future_field"] is original["future_field"]
    assert result.body["metadata"] == {"user_id": "u"}
    assert len(result.adjustments) == 4


def test_prefill_is_detected_and_never_rewritten() -> None:
    prefilled = body(messages=[*HELLO, {"role": "assistant", "content": "{"}])
    assert has_prefill(prefilled)
    assert not has_prefill(body())
    assert not accepts_prefill("claude-sonnet-5-5")
    assert accepts_prefill("claude-sonnet-4-5")
    result = sanitize_for(prefilled, "claude-sonnet-5-5")
    assert result.body["messages"] is prefilled["messages"]
    assert result.adjustments == ()


def test_every_table_row_is_documented_and_ids_are_in_the_catalog() -> None:
    doc = sanitize.__doc__ or ""
    seen: set[str] = set()
    for rules in RULES:
        assert f"| {rules.family}" in doc
        for model in rules.models:
            assert model not in seen
            seen.add(model)
            assert rules_for(model) is rules
