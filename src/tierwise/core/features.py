"""Prompt features: the one pass over a prompt's text that every local strategy reads.

The key idea is to separate the *instruction* (what the user asks) from the *payload* (code,
data, logs and documents they paste). Keywords are matched in the instruction only, so a
JSON blob that mentions "security" does not send a reformat to Opus. Structural signals
(code blocks, stack traces, files named, question form, length) come from the whole text.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import cached_property

from tierwise.core.request import RouteRequest
from tierwise.core.tokens import estimate_prompt_tokens, estimate_text_tokens

# The instruction is read from the head and tail of the prose: people put the ask before or
# after what they paste. Bounding the window keeps keyword matching O(1) in prompt size.
INSTRUCTION_HEAD_CHARS = 2000
INSTRUCTION_TAIL_CHARS = 1000
FILES_COUNT_CAP = 16

# ASCII punctuation (but not "_", which joins identifiers) becomes a word break.
_PUNCTUATION_TO_SPACE = str.maketrans({c: " " for c in string.punctuation if c != "_"})
_FILE_EXTENSION = re.compile(
    r"\.(?:py|pyi|js|mjs|cjs|ts|tsx|jsx|go|rs|java|kt|kts|rb|php|cs|cpp|cc|cxx|"
    r"c|h|hpp|swift|scala|sql|ya?ml|json|toml|tf|sh|bash|vue|svelte|proto|graphql|ex|exs|erl|"
    r"clj|dart|lua|m|mm|r|pl|zig|gradle|xml|ini|cfg|conf|lock|dockerfile)\b"
)
# Case-sensitive, as runtimes print them: Python; JVM, JS and .NET frames ("   at " also
# matches four spaces); Go; Rust and Go panics; C/C++ crashes and sanitizers; rustc errors.
_STACK_TRACE_MARKERS = (
    "Traceback (most recent call last)",
    "   at ",
    "\tat ",
    "goroutine ",
    "panic:",
    "panicked at",
    "Segmentation fault",
    "SIGSEGV",
    "Sanitizer",
    "error[E0",
)
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
# A pasted line of JSON/YAML/CSV/code/logs rather than something the user wrote to us: starts
# with a bracket, quote, digit or sigil; is indented like code; is a `key: value` / `key==1`
# pair with a data-looking or one-word value, or an indented YAML key; ends like a statement;
# is an arrow edge (`a -> b`); or is separated by three or more `;`, `|` or tabs, or by two or
# more commas not followed by a space (CSV).
_DATA_LINE = re.compile(
    r"""^(?:[ \t]*[{}\[\]()"'<>|#@$;/\\\d].*"""
    r"""|(?: {4}|\t).*"""
    r"""|[ \t]*[-+*]?[ \t]*[\w.-]+[ \t]*[:=][ \t]*(?:[\[{"'\d=~<>-]|true|false|null|$).*"""
    r"""|[ \t]*[\w.-]+:[ \t]*[^ \t\n]+[ \t]*"""
    r"""|[ \t]{2,}[-+*]?[ \t]*[\w.-]+:.*"""
    r"""|.*[{;,(\[]"""
    r"""|[^\n]*(?:->|=>|→)[^\n]*"""
    r"""|(?:[^\n;|\t]*[;|\t]){3}.*"""
    r"""|(?:[^\n,]*,\S){2}.*)[ \t]*$\n?""",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PromptFeatures:
    """What the local strategies know about a prompt, computed once per decision.

    The two scans of the whole text (files named, stack traces) run only when a strategy asks,
    so a decision that cannot be changed by them does not pay for them.
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
    context_tokens: int  # estimated tokens of everything the model reads
    text: str = field(repr=False)  # the judged text itself, for the lazy scans below
    named_text: str = field(
        repr=False
    )  # prose plus code blocks' first lines: where files are named

    @cached_property
    def files_mentioned(self) -> int:
        """Distinct file paths named in the prose or at the top of a code block (up to
        ``FILES_COUNT_CAP``); ``#include "x.h"`` deep inside pasted code does not count."""
        return _count_files(self.named_text)

    @cached_property
    def stack_trace(self) -> bool:
        """Whether a stack trace or crash report is pasted."""
        return _has_stack_trace(self.text)

    @classmethod
    def of(cls, request: RouteRequest) -> PromptFeatures:
        """Analyse a request's text; linear in its size, bounded work for keywords."""
        text = request.text
        prose, code_blocks, code_chars, code_heads = _split_fences(text)
        instruction = _instruction_window(prose).lower()
        words_in_order = split_words(instruction)
        prompt_tokens = estimate_text_tokens(text)
        context = request.context_tokens
        if context is None:
            context = estimate_prompt_tokens([request.system, text] if request.system else [text])
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
            code_blocks=code_blocks,
            code_chars=code_chars,
            question=instruction.rstrip().endswith(("?", "？"))
            or first_word in _QUESTION_STARTS
            or head.startswith(("¿", "什么", "为什么", "如何", "怎么", "なぜ", "どう")),
            non_ascii=not instruction.isascii(),
            prompt_tokens=prompt_tokens,
            context_tokens=context,
            text=text,
            named_text=prose + "\n" + code_heads if code_blocks else text,
        )


def _split_fences(text: str) -> tuple[str, int, int, str]:
    """Prose outside fenced code blocks, the number of blocks, the characters inside them, and
    the first two lines of each block (where a pasted file's name usually is)."""
    fence = "```" if "```" in text else "~~~" if "~~~" in text else None
    if fence is None:
        return text, 0, 0, ""
    parts = text.split(fence)
    code = parts[1::2]
    heads = "\n".join("\n".join(block.split("\n", 3)[:3]) for block in code)
    return "\n".join(parts[0::2]), len(code), sum(len(c) for c in code), heads


def _instruction_window(prose: str) -> str:
    """Head and tail of the prose, without lines that look like pasted data or code."""
    if len(prose) > INSTRUCTION_HEAD_CHARS + INSTRUCTION_TAIL_CHARS:
        prose = prose[:INSTRUCTION_HEAD_CHARS] + "\n" + prose[-INSTRUCTION_TAIL_CHARS:]
    if "\n" not in prose:
        return prose
    # A first line that reads like words is the ask even when it looks like data
    # ("json -> yaml", "format as a table: id | name | role"); otherwise filter it too.
    lead, _, rest = prose.lstrip().partition("\n")
    if lead[:1].isalpha() and lead.count(" ") >= 2:
        return lead + "\n" + _DATA_LINE.sub("", rest)
    return _DATA_LINE.sub("", prose)


def _count_words(text: str, words: list[str]) -> int:
    """Words, counting Chinese and Japanese (written without spaces) as two characters a word."""
    if text.isascii():
        return len(words)
    wide = (len(text.encode("utf-8")) - len(text)) // 2  # ~ characters of three UTF-8 bytes
    return len(words) + wide // 2


def split_words(lowered: str) -> list[str]:
    """Words of lower-cased text as routing sees them: ASCII punctuation and hyphens split words."""
    return lowered.translate(_PUNCTUATION_TO_SPACE).split()


def _count_files(text: str) -> int:
    """Distinct file paths named in the text (``src/app.py``, ``Cargo.lock``...), up to a cap.

    Routing only asks "one, a few, or many", so counting stops at ``FILES_COUNT_CAP``.
    """
    names: set[str] = set()
    for match in _FILE_EXTENSION.finditer(text):
        if len(names) >= FILES_COUNT_CAP:
            break
        start = match.start()
        before = text[max(0, start - 80) : start].split()
        if before and not text[start - 1].isspace():
            names.add(before[-1].lstrip("\"'`([<") + match.group())
    return len(names)


def _has_stack_trace(text: str) -> bool:
    if len(text) < 80 or "\n" not in text:
        return False
    if len(text) > 100_000:  # traces sit near the start or the end of what is pasted
        text = text[:50_000] + text[-50_000:]
    return any(marker in text for marker in _STACK_TRACE_MARKERS)
