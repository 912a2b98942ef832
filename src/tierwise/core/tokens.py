"""Offline token estimates, for context-size routing and cost estimates before a call.

There is no official offline tokenizer for current Claude models, so this is a deliberately
conservative rule of thumb (it should over-count rather than under-count):

* ASCII text: Anthropic's older guidance was about 3.5 characters per token. The tokenizer used
  from Opus 4.7 on (all 5.x models, Haiku 5.5) produces up to 1.35x more tokens for the same
  text: 3.5 / 1.35 ≈ 2.59, so we count **2.5 characters per token** for those generations and
  **3.2** for earlier ones (3.5 less a margin for code and JSON, which tokenize densely).
* Non-ASCII text: CJK ideographs and kana are close to one token per character; accented Latin
  letters cost a little more than plain ones. We charge one token per two extra UTF-8 bytes,
  which is one token per CJK character and half a token per accented letter.
* Each message adds a small framing overhead.

Real counts come from the API's ``usage`` and, for prompts near a context threshold, from
``/v1/messages/count_tokens`` (``tierwise.serving.token_counts``). Each record keeps the estimate
and, when one was made, the count, so the estimate's error is measured on real traffic:
``tierwise estimate-error`` shows the mean relative error per model and prompt kind and the
factor that would cancel it, and the policy's ``context.estimate_factor`` applies one
(``corrected``). The factor multiplies this module's raw estimate, which is what records keep,
so a suggestion is always relative to the rule of thumb here, never to an earlier factor.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum

from tierwise.core.errors import InputError

MESSAGE_OVERHEAD_TOKENS = 4


class TokenizerGeneration(StrEnum):
    """Tokenizer families that differ enough to matter for an estimate."""

    LEGACY = "legacy"  # Claude 3.x up to Opus 4.6 / Sonnet 4.6 / Haiku 4.5
    CURRENT = "current"  # Opus 4.7 and later, every 5.x model, Haiku 5.5


CHARS_PER_TOKEN: dict[TokenizerGeneration, float] = {
    TokenizerGeneration.LEGACY: 3.2,
    TokenizerGeneration.CURRENT: 2.5,
}

_LEGACY_ID = re.compile(r"^claude-(3|instant|2|(haiku|sonnet|opus)-4(-[0-6])?($|-\d{8}))")


def generation_of(model: str | None) -> TokenizerGeneration:
    """The tokenizer generation of a model id; unknown or ``None`` counts as current."""
    if model is not None and _LEGACY_ID.match(model):
        return TokenizerGeneration.LEGACY
    return TokenizerGeneration.CURRENT


def estimate_text_tokens(text: str, model: str | None = None) -> int:
    """Conservative token estimate for a piece of text."""
    if not text:
        return 0
    chars = len(text)
    extra_bytes = 0 if text.isascii() else len(text.encode("utf-8")) - chars
    per_token = CHARS_PER_TOKEN[generation_of(model)]
    return math.ceil(chars / per_token + extra_bytes / 2)


def estimate_prompt_tokens(texts: list[str], model: str | None = None) -> int:
    """Estimate for a prompt made of several messages (system counts as one)."""
    return sum(estimate_text_tokens(t, model) + MESSAGE_OVERHEAD_TOKENS for t in texts)


def corrected(estimate: int, factor: float) -> int:
    """``estimate`` times the policy's correction ``factor``, rounded up (1.0: unchanged)."""
    return estimate if factor == 1.0 else math.ceil(estimate * factor)


def check_token_count(value: int, what: str) -> int:
    """Reject negative counts with a clear message; returns the value for chaining."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{what} must be a non-negative integer, got {value!r}")
    return value
