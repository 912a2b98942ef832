"""The blind pairwise judge: two answers shown as A and B, and what its verdicts mean.

The judge never learns which answer came from which model: the routed answer is put at A or B
at random for each comparison. On a sampled share the judge is asked twice with the positions
swapped; a judge that prefers the same *position* both times has shown position bias, not a
preference between the answers, and the two verdicts are counted as disagreeing.

Scores (the request's ``quality_score``): 1.0 when the routed answer is as good as the
baseline's or better (a tie counts as 1.0), 0.0 when it is worse. Two orders are combined by
their mean, so orders that agree give their common score and orders that disagree on a
preference (routed better once, baseline better the other time) give 0.5.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Position = Literal["A", "B"]
Verdict = Literal["routed", "baseline", "tie"]
Combined = Literal["routed", "baseline", "tie", "split"]
Preference = Literal["A", "B", "tie"]

_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")
_SCORES: dict[Verdict, float] = {"routed": 1.0, "tie": 1.0, "baseline": 0.0}


class UnreadableVerdict(ValueError):
    """The judge answered something that names neither answer nor a tie."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """One question to the judge: which answer sits at A."""

    routed_position: Position

    def answers(self, routed: str, baseline: str) -> tuple[str, str]:
        """The answers in display order (A, B)."""
        return (routed, baseline) if self.routed_position == "A" else (baseline, routed)

    def verdict(self, preference: Preference) -> Verdict:
        """The judge's preference of a position, as a verdict on the answers."""
        if preference == "tie":
            return "tie"
        return "routed" if preference == self.routed_position else "baseline"


def swapped(position: Position) -> Position:
    return "B" if position == "A" else "A"


def judge_body(
    *, model: str, prompt: str, max_tokens: int, task: str, first: str, second: str
) -> dict[str, Any]:
    """The Messages request asking ``model`` to compare answer A (``first``) with B."""
    content = (
        f"Task:\n{task}\n\n<answer_a>\n{first}\n</answer_a>\n\n<answer_b>\n{second}\n</answer_b>"
    )
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": prompt,
        "messages": [{"role": "user", "content": content}],
    }


def read_preference(text: str) -> Preference:
    """``A``, ``B`` or ``tie`` from the judge's reply: JSON ``{"better": ...}`` or a bare word."""
    found = _OBJECT.search(text)
    if found is not None:
        try:
            data = json.loads(found.group(0))
        except ValueError:
            data = None
        if isinstance(data, Mapping) and isinstance(data.get("better"), str):
            return _preference(data["better"], text)
    words = _WORD.findall(text)
    return _preference(words[0] if words else "", text)


def _preference(word: str, text: str) -> Preference:
    value = word.strip().upper()
    if value in ("A", "B"):
        return "A" if value == "A" else "B"
    if value in ("TIE", "EQUAL", "BOTH"):
        return "tie"
    raise UnreadableVerdict(f"the judge's reply names no answer: {text[:80]!r}")


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdicts of one evaluation (one or two orders) and the score they make."""

    verdicts: tuple[Verdict, ...]

    @property
    def disagree(self) -> bool | None:
        """Whether two orders gave different verdicts (``None`` with one order)."""
        return None if len(self.verdicts) < 2 else len(set(self.verdicts)) > 1

    @property
    def score(self) -> float:
        return sum(_SCORES[v] for v in self.verdicts) / len(self.verdicts)

    @property
    def combined(self) -> Combined:
        return self.verdicts[0] if len(set(self.verdicts)) == 1 else "split"


def judgement(verdicts: Sequence[Verdict]) -> Judgement:
    if not verdicts:
        raise ValueError("a judgement needs at least one verdict")
    return Judgement(tuple(verdicts))
