"""The self-check: a cheap judge model reads the task and the answer and returns a verdict.

The judge answers ``{"verdict": "pass" | "fail", "confidence": 0..1}``; the answer passes when
the verdict is ``pass`` with at least the threshold's confidence. A judge that cannot be reached
or answers something unreadable does not fail the answer (routing never breaks a request): its
verdict passes with the reason, and the call's cost still counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tierwise.escalation.validators.base import CheckResult, answer_text
from tierwise.escalation.validators.checks import parse_json

NAME = "judge"
_TASK_CHARS = 4000
_ANSWER_CHARS = 8000
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class JudgeCheck:
    """Which model judges, with what instructions, and the confidence an answer needs."""

    model: str
    prompt: str
    threshold: float = 0.7
    max_tokens: int = 64


def judge_body(judge: JudgeCheck, task: str, answer: Mapping[str, Any]) -> dict[str, Any]:
    """The Messages request that asks ``judge`` about ``answer`` to ``task``."""
    text = answer_text(answer)
    return {
        "model": judge.model,
        "max_tokens": judge.max_tokens,
        "system": judge.prompt,
        "messages": [
            {
                "role": "user",
                "content": f"Task:\n{task[:_TASK_CHARS]}\n\nAnswer:\n{text[:_ANSWER_CHARS]}",
            }
        ],
    }


def read_judgement(judge: JudgeCheck, response: Mapping[str, Any]) -> CheckResult:
    """The judge's verdict on the answer, from its response (unreadable: passes, with why)."""
    text = answer_text(response)
    try:
        data = parse_json(text)
    except ValueError:
        found = _OBJECT.search(text)
        try:
            data = parse_json(found.group(0)) if found else None
        except ValueError:
            data = None
    if not isinstance(data, Mapping):
        return unavailable(f"unreadable answer {text[:60]!r}")
    verdict = str(data.get("verdict", "")).strip().lower()
    confidence = data.get("confidence")
    if verdict not in ("pass", "fail") or not isinstance(confidence, int | float):
        return unavailable(f"unreadable answer {text[:60]!r}")
    score = min(max(float(confidence), 0.0), 1.0)
    if verdict == "pass" and score >= judge.threshold:
        return CheckResult(NAME, True, f"pass at {score:.2f}", confidence=score)
    why = "fail" if verdict == "fail" else f"pass below the threshold {judge.threshold:g}"
    return CheckResult(NAME, False, f"{why} at {score:.2f}", confidence=score)


def unavailable(why: str) -> CheckResult:
    """The verdict when the judge gave none: the answer is not failed for it."""
    return CheckResult(NAME, True, f"judge unavailable ({why}); not counted")
