"""Checks on an answer, run by the cascade after each attempt to decide whether to escalate.

Every check reads the answer in the API's wire form (the Messages response as a dict) and the
request that produced it, so the proxy and the library client share them. ``build`` turns the
policy's ``[escalation.validators]`` into checks; ``judge`` is the one check that calls a model.
"""

from tierwise.escalation.validators.base import AnswerCheck, CheckResult, answer_text
from tierwise.escalation.validators.build import Checks, checks_for
from tierwise.escalation.validators.judge import JudgeCheck, judge_body, read_judgement

__all__ = [
    "AnswerCheck",
    "CheckResult",
    "Checks",
    "JudgeCheck",
    "answer_text",
    "checks_for",
    "judge_body",
    "read_judgement",
]
