"""Which prompts the learned router may decide under ``[learned] gate = "question"``.

A router trained on exam-style datasets (word problems, multiple-choice questions) has never
seen a coding request, and its scores on one are noise. The gate lets it decide only prompts of
the shape it was trained on: a multiple-choice question (two or more lettered option lines),
or a prose question that ends with its question mark, has numbers in it, speaks of no system of
the asker's own (no "I", "my", "we", "our") and has no code (no fenced or inline code, no stack
trace, no file names, no identifiers or operators). Everything else is left to the rules.
"""

from __future__ import annotations

import re

from tierwise.core.features import PromptFeatures

_OPTION = re.compile(r"^\s*\(?[A-J][.)]\s", re.MULTILINE)
_CODE = re.compile(r"`|\w_\w|[a-z][A-Z]|\w\.\w+\(|\(\)|[{};]|::|->|=>|==|\$[A-Za-z_]|</?\w+>")
_DIGIT = re.compile(r"\d")
# The asker's own system, in the languages routing reads most ("our service", "unsere App").
_OWN = re.compile(
    r"\b(?:i|i'm|i've|me|my|mine|we|we're|we've|us|our|ours|yo|mi|mis|tenemos|nosotros|"
    r"nuestr[oa]s?|ich|mein[e]?|wir|unser[e]?|je|mon|ma|mes|nous|notre|nos|eu|meu|minha|"
    r"nosso|nossa|temos|мы|нас|наш[аеи]?|я|мой|моя)\b",
    re.IGNORECASE,
)
_TOPIC_PREFIX = re.compile(r"^\s*[\w.+#-]+:\s")  # "Rails: ...", "postgres: ..."


def self_contained_question(text: str, features: PromptFeatures) -> bool:
    """Whether ``text`` looks like a self-contained exam-style question."""
    if features.code_blocks or features.stack_trace:
        return False
    if len(_OPTION.findall(text)) >= 2:
        return True
    return (
        text.rstrip().endswith("?")
        and features.files_mentioned == 0
        and _OWN.search(text) is None
        and _TOPIC_PREFIX.match(text) is None
        and _DIGIT.search(text) is not None
        and _CODE.search(text) is None
    )
