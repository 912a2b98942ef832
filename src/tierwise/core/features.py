"""Prompt features: the one pass over a prompt's text that every local strategy reads.

The text is split (``instruction``) into the *instruction* (what the user asks) and the
*payload* (code, data, logs and documents they paste). Keywords are matched in the instruction
only, so a JSON blob that mentions "security" does not send a reformat to Opus; the payload
contributes measured properties (size, stack trace, diff, languages, tables, files named).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from tierwise.core.instruction import (
    FILES_COUNT_CAP,
    INSTRUCTION_HEAD_CHARS,
    INSTRUCTION_TAIL_CHARS,
    Payload,
)
from tierwise.core.instruction import split as split_instruction
from tierwise.core.request import RouteRequest
from tierwise.core.tokens import estimate_prompt_tokens, estimate_text_tokens

__all__ = [
    "FILES_COUNT_CAP",
    "INSTRUCTION_HEAD_CHARS",
    "INSTRUCTION_TAIL_CHARS",
    "Payload",
    "PromptFeatures",
    "split_words",
]

# Punctuation (but not "_", which joins identifiers) becomes a word break: ASCII, and the
# marks Spanish, French, German and typography put next to words ("¿algún", "«ça»", "it’s").
_PUNCTUATION = string.punctuation.replace("_", "") + "¿¡«»“”‘’„…—–"
_PUNCTUATION_TO_SPACE = str.maketrans(dict.fromkeys(_PUNCTUATION, " "))
_QUESTION_STARTS = frozenset(
    [
        "what",
        "why",
        "how",
        "when",
        "which",
        "who",
        "where",
        "is",
        "are",
        "can",
        "could",
        "does",
        "do",
        "should",
        "would",
        "was",
        "were",
        "will",
        "explain",
        "difference",
        "was",
        "wie",
        "warum",
        "wann",
        "welche",
        "welcher",
        "kann",
        "ist",
        "sind",
        "qué",
        "que",
        "cómo",
        "como",
        "por",
        "cuál",
        "cuándo",
        "es",
        "puedo",
    ]
)


@dataclass(frozen=True)
class PromptFeatures:
    """What the local strategies know about a prompt, computed once per decision.

    The scans of the whole payload (files named, stack traces, diffs, tables) run only when a
    strategy asks, so a decision that cannot be changed by them does not pay for them.
    """

    instruction: str  # lower-cased prose window (head + tail, data-like lines removed)
    normalized: str  # the instruction's words joined by single spaces, padded with spaces
    words: frozenset[str]  # distinct words of the instruction
    lead: str  # the instruction's first non-empty line: where the ask usually is
    lead_normalized: str  # its words joined by single spaces, padded with spaces
    lead_is_all: bool  # the instruction is a single line (so every phrase is in the lead)
    instruction_words: int  # how many words the instruction has
    chars: int  # characters in the judged text
    lines: int  # lines in the judged text
    code_blocks: int  # fenced blocks
    code_chars: int  # characters inside fences
    question: bool  # the instruction is phrased as a question
    non_ascii: bool  # the instruction has non-ASCII text (CJK matching needs substrings)
    prompt_tokens: int  # estimated tokens of the judged text
    context_tokens: int  # estimated tokens of everything the model reads (the window check)
    payload: Payload = field(repr=False)  # measured properties of what was pasted
    task_tokens: int = 0  # estimated tokens the task must read (no client envelope)
    background: bool = False  # a client's background call (title, summary), not a task

    @property
    def text(self) -> str:
        """The judged text itself."""
        return self.payload.text

    @property
    def instruction_text(self) -> str:
        """The person's words (lower-cased): what keyword rules and task recognition read."""
        return self.instruction

    @property
    def files_mentioned(self) -> int:
        """Distinct file paths named (see ``Payload.files_named``)."""
        return self.payload.files_named

    @property
    def stack_trace(self) -> bool:
        """Whether a stack trace or crash report is pasted."""
        return self.payload.stack_trace

    @classmethod
    def of(cls, request: RouteRequest) -> PromptFeatures:
        """Analyse a request's text; linear in its size, bounded work for keywords."""
        text = request.text
        parts = split_instruction(text)
        payload = parts.payload
        instruction = parts.instruction.lower()
        words_in_order = split_words(instruction)
        prompt_tokens = estimate_text_tokens(text)
        context = request.context_tokens
        if context is None:
            context = estimate_prompt_tokens([request.system, text] if request.system else [text])
        task = request.task_tokens if request.task_tokens is not None else context
        head = instruction.lstrip()
        first_word = words_in_order[0] if words_in_order else ""
        lead, newline, rest = head.partition("\n")
        lead_is_all = not newline or not rest.strip()
        return cls(
            instruction=instruction,
            normalized=" " + " ".join(words_in_order) + " ",
            words=frozenset(words_in_order),
            lead=lead,
            lead_normalized=" " + " ".join(split_words(lead)) + " " if not lead_is_all else "",
            lead_is_all=lead_is_all,
            instruction_words=_count_words(instruction, words_in_order),
            chars=len(text),
            lines=text.count("\n") + 1,
            code_blocks=payload.code_blocks,
            code_chars=payload.code_chars,
            question=instruction.rstrip().endswith(("?", "？"))
            or first_word in _QUESTION_STARTS
            or head.startswith(("¿", "什么", "为什么", "如何", "怎么", "なぜ", "どう")),
            non_ascii=not instruction.isascii(),
            prompt_tokens=prompt_tokens,
            context_tokens=context,
            payload=payload,
            task_tokens=task,
            background=request.background,
        )


def _count_words(text: str, words: list[str]) -> int:
    """Words, counting Chinese and Japanese (written without spaces) as two characters a word."""
    if text.isascii():
        return len(words)
    wide = (len(text.encode("utf-8")) - len(text)) // 2  # ~ characters of three UTF-8 bytes
    return len(words) + wide // 2


def split_words(lowered: str) -> list[str]:
    """Words of lower-cased text as routing sees them: ASCII punctuation and hyphens split words."""
    return lowered.translate(_PUNCTUATION_TO_SPACE).split()
