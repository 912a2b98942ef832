"""Which prompts the learned router may decide under ``[learned] gate = "question"``.

A router trained on exam-style datasets (word problems, multiple-choice questions) has never
seen a coding request, and its scores on one are noise. The gate lets it decide only prompts of
the shape it was trained on: a multiple-choice question (two or more lettered option lines),
or a question in prose that has numbers in it and no code (no fenced or inline code, no stack
trace, no file names, no identifiers or operators). Everything else is left to the rules.
"""

from __future__ import annotations

import re

from tierwise.core.features import PromptFeatures

_OPTION = re.compile(r"^\s*\(?[A-J][.)]\s", re.MULTILINE)
_CODE = re.compile(r"`|\w_\w|[a-z][A-Z]|\w\.\w+\(|\(\)|[{};]|::|->|=>|==|\$[A-Za-z_]|</?\w+>")
_DIGIT = re.compile(r"\d")


def self_contained_question(text: str, features: PromptFeatures) -> bool:
    """Whether ``text`` looks like a self-contained exam-style question."""
    if features.code_blocks or features.stack_trace:
        return False
    if len(_OPTION.findall(text)) >= 2:
        return True
    asks = features.question or "?" in text[-300:]
    return (
        asks
        and features.files_mentioned == 0
        and _DIGIT.search(text) is not None
        and _CODE.search(text) is None
    )
