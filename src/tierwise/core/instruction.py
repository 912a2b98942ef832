"""Instruction versus payload: what the person asks, apart from what they paste.

Routing judges the *instruction* (the person's words) by its words, and the *payload* (fenced or
indented code, diffs, logs and stack traces, CSV/JSON/tables, quoted text, file lists) only by
measured properties: its size and kind. A pasted advisory full of "CVE" or a benchmark table
full of "p99" then says nothing about how hard the ask is; "turn this into a table" does.
Scripts written without spaces (Chinese, Japanese) need no special case here: the split is by
lines and fences, and a line of CJK prose never looks like data.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

# The instruction is read from the head and tail of the prose: people put the ask before or
# after what they paste. Bounding the window keeps keyword matching O(1) in prompt size.
INSTRUCTION_HEAD_CHARS = 2000
INSTRUCTION_TAIL_CHARS = 1000
FILES_COUNT_CAP = 16

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
# A pasted line of JSON/YAML/CSV/code/logs rather than something the user wrote to us: starts
# with a bracket, quote, digit or sigil; is indented like code; is a `key: value` / `key==1`
# pair with a data-looking or one-word value, or an indented YAML key; ends like a statement;
# is an arrow edge (`a -> b`); or is separated by three or more `;`, `|` or tabs, or by two or
# more commas not followed by a space (CSV), or aligned in columns by runs of spaces.
_DATA_LINE = re.compile(
    r"""^(?:[ \t]*[{}\[\]()"'<>|#@$;/\\\d].*"""
    r"""|(?: {4}|\t).*"""
    r"""|[ \t]*[-+*]?[ \t]*[\w.-]+[ \t]*[:=][ \t]*(?:[\[{"'\d=~<>-]|true|false|null|$).*"""
    r"""|[ \t]*[\w.-]+:[ \t]*[^ \t\n]+[ \t]*"""
    r"""|[ \t]{2,}[-+*]?[ \t]*[\w.-]+:.*"""
    r"""|.*[{;,(\[]"""
    r"""|[^\n]*(?:->|=>|→)[^\n]*"""
    r"""|(?:[^\n;|\t]*[;|\t]){3}.*"""
    r"""|(?:[^\n,]*,\S){2}.*"""
    r"""|(?:[^\n]*\S(?: {2,}|\t)){2}[^\n]*[^\s.?!:;。？！：])[ \t]*$\n?""",
    re.MULTILINE,
)


# Unified-diff lines, once a hunk header or a git diff header shows the text carries a diff.
_DIFF_HEADER = re.compile(r"^(?:diff --git |@@ -\d|--- a/|\+\+\+ b/)", re.MULTILINE)
_DIFF_LINE = re.compile(r"^(?:[+\- ].*|@@.*|diff --git.*|index [0-9a-f].*)$\n?", re.MULTILINE)
_CELLS = re.compile(r" {2,}|\t|\s*\|\s*")
_CSV_CELLS = re.compile(r",(?=\S)")


@dataclass(frozen=True)
class Payload:
    """Measured properties of what was pasted; its words are never read for meaning."""

    text: str = field(repr=False)  # the whole judged text, for the lazy scans below
    named_text: str = field(repr=False)  # prose plus code blocks' first lines
    code_blocks: int = 0  # fenced blocks
    code_chars: int = 0  # characters inside fences
    languages: tuple[str, ...] = ()  # fence info strings ("python", "diff"...), in order
    chars: int = 0  # characters of payload (fences, data-like lines, diffs, quotes)

    @cached_property
    def files_named(self) -> int:
        """Distinct file paths named in the prose or at the top of a code block (up to
        ``FILES_COUNT_CAP``); ``#include "x.h"`` deep inside pasted code does not count."""
        return _count_files(self.named_text)

    @cached_property
    def stack_trace(self) -> bool:
        """Whether a stack trace or crash report is pasted."""
        return _has_stack_trace(self.text)

    @cached_property
    def diff(self) -> bool:
        """Whether a unified diff is pasted."""
        return "diff" in self.languages or _DIFF_HEADER.search(self.text) is not None

    @cached_property
    def tabular(self) -> bool:
        """Whether rows of tabular data are pasted: three or more lines of three or more cells,
        split alike (by `|`, tabs, commas or runs of spaces)."""
        lines = [line.strip() for line in self.text.splitlines()[:400] if line.strip()]
        for cells in (_CELLS, _CSV_CELLS):
            widths = Counter(len(cells.split(line)) for line in lines)
            if any(width >= 3 and n >= 3 for width, n in widths.items()):
                return True
        return False


@dataclass(frozen=True)
class Split:
    """A prompt's text split into the instruction window and the payload's properties."""

    instruction: str  # the person's words (head and tail of the prose), original case
    payload: Payload


def split(text: str) -> Split:
    """Split ``text`` into instruction and payload; linear in its size."""
    prose, blocks, code_chars, heads, languages = _split_fences(text)
    if _DIFF_HEADER.search(prose):
        prose = _without_diff(prose)
    instruction = _instruction_window(prose)
    payload = Payload(
        text=text,
        named_text=prose + "\n" + heads if blocks else text,
        code_blocks=blocks,
        code_chars=code_chars,
        languages=languages,
        chars=max(0, len(text) - len(instruction)),
    )
    return Split(instruction, payload)


def _split_fences(text: str) -> tuple[str, int, int, str, tuple[str, ...]]:
    """Prose outside fenced code blocks, the number of blocks, the characters inside them, the
    first two lines of each block (where a pasted file's name usually is), and their languages."""
    fence = "```" if "```" in text else "~~~" if "~~~" in text else None
    if fence is None:
        return text, 0, 0, "", ()
    parts = text.split(fence)
    code = parts[1::2]
    heads = "\n".join("\n".join(block.split("\n", 3)[:3]) for block in code)
    languages = tuple(block.split("\n", 1)[0].strip().lower() for block in code)
    return "\n".join(parts[0::2]), len(code), sum(len(c) for c in code), heads, languages


def _without_diff(prose: str) -> str:
    """Prose with the lines of a pasted unified diff removed (the lines before it kept)."""
    match = _DIFF_HEADER.search(prose)
    if match is None:
        return prose
    return prose[: match.start()] + _DIFF_LINE.sub("", prose[match.start() :])


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
