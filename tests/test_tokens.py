"""Offline token estimates: conservative, aware of the tokenizer generation, cheap to compute."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tierwise.core.errors import InputError
from tierwise.core.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    TokenizerGeneration,
    check_token_count,
    estimate_prompt_tokens,
    estimate_text_tokens,
    generation_of,
)

# Anthropic's documented rule of thumb for the older tokenizer, and the documented worst-case
# growth of the tokenizer used from Opus 4.7 on.
DOCUMENTED_CHARS_PER_TOKEN = 3.5
CURRENT_TOKENIZER_GROWTH = 1.35

SAMPLES = {
    "prose": "Please reformat the following paragraph so that every sentence is on its own line. "
    * 20,
    "code": "def add(a: int, b: int) -> int:\n    return a + b\n\nprint(add(1, 2))\n" * 30,
    "json": '{"id": 17, "name": "alpha", "tags": ["x", "y"], "ok": true}\n' * 40,
    "short": "Hi",
}

LEGACY_IDS = [
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-5-20251101",
    "claude-sonnet-4-20250514",
    "claude-opus-4-1",
    "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-20250219",
]
CURRENT_IDS = [
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-haiku-5-5",
    "claude-sonnet-5-5",
    "claude-opus-5",
    "claude-fable-5-2",
    "claude-mythos-5-2",
]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_ascii_estimate_is_conservative_for_the_legacy_tokenizer(name: str) -> None:
    text = SAMPLES[name]
    assert estimate_text_tokens(text, "claude-opus-4-6") >= len(text) / DOCUMENTED_CHARS_PER_TOKEN


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_ascii_estimate_covers_the_current_tokenizers_growth(name: str) -> None:
    text = SAMPLES[name]
    floor = len(text) / DOCUMENTED_CHARS_PER_TOKEN * CURRENT_TOKENIZER_GROWTH
    assert estimate_text_tokens(text, "claude-opus-4-7") >= floor
    assert estimate_text_tokens(text) >= floor  # an unknown model counts as current


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1))
def test_any_ascii_text_is_over_counted_but_not_absurdly(text: str) -> None:
    for model in ("claude-sonnet-4-6", "claude-sonnet-5-5"):
        estimate = estimate_text_tokens(text, model)
        assert estimate >= len(text) / DOCUMENTED_CHARS_PER_TOKEN
        assert estimate <= math.ceil(len(text) / 2)  # never more than a token per two chars


def test_current_generation_counts_more_than_legacy_for_the_same_text() -> None:
    text = SAMPLES["prose"]
    assert estimate_text_tokens(text, "claude-opus-4-7") > estimate_text_tokens(
        text, "claude-opus-4-6"
    )


@pytest.mark.parametrize(
    "text", ["请把这个文件格式化并按字母顺序排列所有的键", "このファイルを整形してください"]
)
def test_cjk_text_counts_about_one_token_per_character(text: str) -> None:
    estimate = estimate_text_tokens(text)
    assert len(text) <= estimate <= 1.5 * len(text)


def test_accented_latin_costs_more_than_plain_ascii_of_the_same_length() -> None:
    plain = "Formatea el codigo y explica por que falla la conexion" * 5
    accented = "Formatéa él códigó y explicá por qué fallá la conexión" * 5
    assert len(plain) == len(accented)
    assert estimate_text_tokens(accented) > estimate_text_tokens(plain)


@pytest.mark.parametrize("model", LEGACY_IDS)
def test_legacy_model_ids(model: str) -> None:
    assert generation_of(model) is TokenizerGeneration.LEGACY


@pytest.mark.parametrize("model", [*CURRENT_IDS, None, "auto", "some-future-model"])
def test_current_and_unknown_model_ids(model: str | None) -> None:
    assert generation_of(model) is TokenizerGeneration.CURRENT


@pytest.mark.parametrize("model", [None, "claude-opus-4-6", "claude-opus-4-7"])
def test_empty_text_is_zero_tokens(model: str | None) -> None:
    assert estimate_text_tokens("", model) == 0


def test_each_message_adds_a_framing_overhead() -> None:
    system, user = "You are terse.", SAMPLES["prose"]
    parts = estimate_text_tokens(system) + estimate_text_tokens(user)
    assert MESSAGE_OVERHEAD_TOKENS > 0
    assert estimate_prompt_tokens([system, user]) == parts + 2 * MESSAGE_OVERHEAD_TOKENS
    assert estimate_prompt_tokens([""]) == MESSAGE_OVERHEAD_TOKENS
    assert estimate_prompt_tokens([]) == 0


def test_prompt_estimate_uses_the_models_generation() -> None:
    texts = [SAMPLES["code"]]
    assert estimate_prompt_tokens(texts, "claude-haiku-5-5") > estimate_prompt_tokens(
        texts, "claude-haiku-4-5"
    )


@pytest.mark.parametrize("value", [0, 1, 123_456])
def test_check_token_count_returns_valid_counts(value: int) -> None:
    assert check_token_count(value, "input_tokens") == value


@pytest.mark.parametrize("value", [-1, -1_000, True, False, 1.5, "3", None])
def test_check_token_count_rejects_negatives_bools_and_non_integers(value: object) -> None:
    with pytest.raises(InputError) as caught:
        check_token_count(value, "input_tokens")  # type: ignore[arg-type]
    assert "input_tokens" in str(caught.value)
    assert repr(value) in str(caught.value)
