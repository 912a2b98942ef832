"""When to ask the classifier, and how its grade moves an already routed request.

*Unsure* (heuristic-first mode) means the local decision was a guess: the tier was decided by
one of ``classifier.unsure_strategies`` — by default ``default`` (no rule matched at all) and
``brevity`` (short, so probably easy) — or by nothing. A task type the caller named is never
second-guessed, nor a conversation pinned to its model, nor a request with no text.

The grade replaces the decided tier, then the floors and ceilings in the trace bound it exactly
as the router bounds a decision (a ceiling wins over a floor; the context-window floor is one
of them), so a free user's ceiling or a large prompt's floor still hold.
"""

from __future__ import annotations

import dataclasses

from tierwise.core.decision import Action, Verdict
from tierwise.core.router import DEFAULT_MAX_TOKENS
from tierwise.core.tiers import Tier
from tierwise.messages.hints import header_safe
from tierwise.messages.routing import MessagesRouter, Routed

NEVER_SECOND_GUESSED = ("task_type",)


def wants(router: MessagesRouter, routed: Routed) -> str | None:
    """Why the classifier should grade this request, or ``None`` when it should not."""
    config = router.policy.config.classifier
    decision = routed.decision
    request = routed.request
    if not config.enabled or decision is None or routed.pinned:
        return None
    if request is None or not request.text.strip():
        return None
    decisive = decisive_verdict(decision.trace)
    if decisive is not None and decisive.strategy in NEVER_SECOND_GUESSED:
        return None
    if config.mode == "always":
        return "always"
    if decisive is None or decisive.strategy in config.unsure_strategies:
        return f"unsure: {decisive.strategy if decisive else 'nothing'} decided"
    return None


def decisive_verdict(trace: tuple[Verdict, ...]) -> Verdict | None:
    """The verdict that picked the tier: the first ``decide`` with a tier."""
    return next((v for v in trace if v.action is Action.DECIDE and v.tier is not None), None)


def reroute(router: MessagesRouter, routed: Routed, verdict: Verdict) -> Routed:
    """``routed`` with the classifier's ``verdict`` in its trace and, if it graded the task
    differently, aimed at the graded tier's model (within the trace's floors and ceilings)."""
    decision = routed.decision
    if decision is None:
        return routed
    trace = (*decision.trace, verdict)
    if verdict.tier is None or routed.tier is None:
        return dataclasses.replace(routed, decision=dataclasses.replace(decision, trace=trace))
    policy = router.policy
    tier = _bounded(verdict.tier, trace, policy.ladder)
    model = policy.model_for(tier)
    if tier == routed.tier or not router.can_retarget(routed, model.id):
        return dataclasses.replace(routed, decision=dataclasses.replace(decision, trace=trace))
    moved = router.retarget(routed, model.id)
    reason = f"{verdict.describe()}; local: {decision.reason}"
    max_tokens = policy.config.tiers.max_tokens.get(tier, DEFAULT_MAX_TOKENS)
    return dataclasses.replace(
        moved,
        decision=dataclasses.replace(
            decision,
            model=model.id,
            tier=tier,
            max_tokens=min(max_tokens, model.max_output),
            reason=reason,
            trace=trace,
        ),
        reason=header_safe(reason),
    )


def _bounded(tier: Tier, trace: tuple[Verdict, ...], ladder: list[Tier]) -> Tier:
    floors = [v.tier for v in trace if v.action is Action.FLOOR and v.tier is not None]
    ceilings = [v.tier for v in trace if v.action is Action.CEILING and v.tier is not None]
    raised = False
    if floors and tier < max(floors):
        tier, raised = max(floors), True
    if ceilings and tier > min(ceilings):
        tier, raised = min(ceilings), False
    if tier in ladder:
        return tier
    below = [t for t in ladder if t < tier]
    above = [t for t in ladder if t > tier]
    if raised and above:
        return above[0]
    return below[-1] if below else above[0]
