"""The escalation ladder, without I/O: what to try next and whether an answer is good enough.

A ``Cascade`` follows one request. Its driver (``proxy`` for the proxy, ``sync`` for the
library client) sends ``current``, hands the answer to ``assess`` (and to the judge, when
``judge_request`` returns a body), then asks ``escalate`` for the next request, which is
``None`` when the answer passed or the ladder is exhausted. The ladder runs from the decided
tier upwards to ``escalation.max_tier``, never above a ceiling in the decision's trace (a
user tier's ceiling is a promise), skipping models that would reject the request's prefill.
A conversation pinned to its model is never escalated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tierwise.core.decision import Action, Verdict
from tierwise.core.tiers import Tier
from tierwise.escalation.validators import CheckResult, Checks, checks_for, judge_body
from tierwise.escalation.validators.checks import AnswerPredicate, run_checks
from tierwise.ledger.outcome import AttemptKind
from tierwise.messages.hints import header_safe
from tierwise.messages.routing import MessagesRouter, Routed


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdicts on one answer; it passed when none failed."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def as_dicts(self) -> tuple[dict[str, Any], ...]:
        return tuple(result.as_dict() for result in self.results)


@dataclass(slots=True)
class Cascade:
    """One request's way up the ladder."""

    router: MessagesRouter
    current: Routed
    checks: Checks
    ladder: list[str]
    task: str
    kind: AttemptKind = "first"
    steps: list[str] = field(default_factory=list)

    def assess(self, answer: Mapping[str, Any], judged: CheckResult | None = None) -> Assessment:
        """The local checks' verdicts on ``answer`` to ``current``, plus the judge's if any."""
        results = run_checks(self.checks.local, answer, self.current.body)
        return Assessment(tuple(results) + ((judged,) if judged is not None else ()))

    def judge_request(self, answer: Mapping[str, Any]) -> dict[str, Any] | None:
        """The judge's request when the policy asks for one and the local checks passed
        (a judge is not paid to confirm what a local check already failed)."""
        if self.checks.judge is None or not self.ladder:
            return None
        if not all(r.passed for r in run_checks(self.checks.local, answer, self.current.body)):
            return None
        return judge_body(self.checks.judge, self.task, answer)

    def escalate(self, assessment: Assessment) -> Routed | None:
        """The next request up the ladder after a failed ``assessment``, else ``None``."""
        if assessment.passed or not self.ladder:
            return None
        model = self.ladder.pop(0)
        failed = assessment.failures[0]
        why = f"escalated from {self.current.model}: {failed.validator} failed ({failed.reason})"
        self.steps.append(f"{self.current.model} -> {model} ({failed.validator} failed)")
        self.current = escalated(self.router, self.current, model, why)
        self.kind = "escalation"
        return self.current


def plan_cascade(
    router: MessagesRouter,
    routed: Routed,
    callables: Mapping[str, AnswerPredicate] | None = None,
) -> Cascade | None:
    """The cascade for ``routed``, or ``None`` when it does not escalate (escalation off, an
    unrouted or pinned request)."""
    config = router.policy.config.escalation
    decision = routed.decision
    if not config.enabled or decision is None or routed.tier is None or routed.pinned:
        return None
    checks = checks_for(router.policy, decision.task_type, callables)
    task = routed.request.text if routed.request is not None else ""
    return Cascade(router, routed, checks, ladder_above(router, routed), task)


def ladder_above(router: MessagesRouter, routed: Routed) -> list[str]:
    """The models to escalate to, in order, from the tier above ``routed``'s."""
    policy = router.policy
    decision = routed.decision
    if routed.tier is None or decision is None:
        return []
    top = min(policy.config.escalation.max_tier, _ceiling(decision.trace) or Tier.MYTHOS)
    models: list[str] = []
    for tier in policy.ladder:
        if routed.tier < tier <= top:
            model = policy.model_for(tier).id
            if model != routed.model and router.can_retarget(routed, model):
                models.append(model)
    return models


def escalated(router: MessagesRouter, routed: Routed, model: str, why: str) -> Routed:
    """``routed`` re-aimed at ``model`` (body sanitised for it), with ``why`` in its trace."""
    moved = router.retarget(routed, model)
    decision = routed.decision
    if decision is None or moved.tier is None:
        return moved
    verdict = Verdict("escalation", Action.DECIDE, why, tier=moved.tier)
    return dataclasses.replace(
        moved,
        decision=dataclasses.replace(
            decision,
            model=model,
            tier=moved.tier,
            reason=f"{decision.reason}; {why}",
            trace=(*decision.trace, verdict),
        ),
        reason=header_safe(f"{why}; {routed.reason}"),
    )


def _ceiling(trace: Sequence[Verdict]) -> Tier | None:
    ceilings = [v.tier for v in trace if v.action is Action.CEILING and v.tier is not None]
    return min(ceilings) if ceilings else None
