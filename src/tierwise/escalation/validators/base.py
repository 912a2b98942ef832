"""The shape every answer check shares, and the answer's text as checks read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's verdict on one answer, kept in the attempt's record."""

    validator: str
    passed: bool
    reason: str
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, for records."""
        out: dict[str, Any] = {"validator": self.validator, "passed": self.passed}
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 4)
        out["reason"] = self.reason
        return out


class AnswerCheck(Protocol):
    """A local check: pure, fast, no I/O."""

    @property
    def name(self) -> str:
        """Shown in verdicts."""
        ...

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        """The verdict on ``answer`` (a Messages response) to ``request`` (its body)."""
        ...


def answer_text(answer: Mapping[str, Any]) -> str:
    """The concatenated text blocks of a Messages response."""
    content = answer.get("content")
    if not isinstance(content, list):
        return ""
    parts = [
        block.get("text", "")
        for block in content
        if isinstance(block, Mapping) and block.get("type") == "text"
    ]
    return "".join(part for part in parts if isinstance(part, str))
