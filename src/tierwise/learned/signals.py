"""Handcrafted difficulty signals: a few numbers per prompt that word counts do not carry.

Hashed n-grams say *what* a prompt is about; these say how much work it asks for: its length,
how many quantities it holds (word problems with more numbers take more steps), operation words,
negations ("which is NOT ..."), and for multiple-choice questions the number and length of the
options and whether they are numeric (a calculation rather than recall). Measured by 5-fold
cross-validation, they raise APGR by about 0.015 on mmlu and 0.007 on gsm8k (see
docs/learned-router.md). Values are raw; the trained model folds its standardisation into the
weights, so scoring needs no extra state.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_OPTION = re.compile(r"^[A-J]\. (.*)$", re.MULTILINE)
# no leading \b: three times faster, and words that merely end so ("knot") are rare
_NEGATION = re.compile(r"(?:not|except|false|least|never|incorrect|cannot)\b")
_OPERATIONS = (
    "twice", "half", "percent", "%", "each", "per", "times", "more than", "less than", "total",
    "remaining", "left", "average", "ratio", "fraction", "third", "quarter", "double", "triple",
    "every", "week", "hour", "minute", "$",
)  # fmt: skip
_SYMBOL = re.compile(r"[-+*/=^]")

SIGNALS = (
    "log_chars",
    "log_words",
    "log_numbers",
    "log_distinct_numbers",
    "longest_number",
    "decimals",
    "log_sentences",
    "log_operation_words",
    "log_negations",
    "log_options",
    "log_mean_option_chars",
    "log_option_chars_spread",
    "numeric_option_share",
    "log_stem_chars",
    "of_the_above",
    "statement_pair",
    "log_math_symbols",
)


def signals(text: str, max_chars: int) -> npt.NDArray[np.float64]:
    """The prompt's difficulty signals, in the order of ``SIGNALS``; only the first
    ``max_chars`` characters are read (but the full length counts), which bounds the time."""
    full_length = len(text)
    text = text[:max_chars]
    lower = text.lower()
    numbers = _NUMBER.findall(text)
    options = _OPTION.findall(text)
    lengths = [len(o) for o in options]
    mean = sum(lengths) / len(lengths) if lengths else 0.0
    spread = math.sqrt(sum((x - mean) ** 2 for x in lengths) / len(lengths)) if lengths else 0.0
    stem = text.split("\nA. ", 1)[0] if options else text
    return np.array(
        [
            math.log1p(full_length),
            math.log1p(len(text.split())),
            math.log1p(len(numbers)),
            math.log1p(len(set(numbers))),
            max((len(n) for n in numbers), default=0) / 5,
            sum(1 for n in numbers if "." in n) / 3,
            math.log1p(text.count(". ") + text.count("? ")),
            math.log1p(sum(lower.count(word) for word in _OPERATIONS)),
            math.log1p(len(_NEGATION.findall(lower))),
            math.log1p(len(options)),
            math.log1p(mean),
            math.log1p(spread),
            sum(1 for o in options if _NUMBER.search(o)) / len(options) if options else 0.0,
            math.log1p(len(stem)),
            float("of the above" in lower),
            float("statement 1" in lower),
            math.log1p(len(_SYMBOL.findall(text))),
        ]
    )
