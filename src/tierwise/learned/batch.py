"""``tierwise route --batch --router FILE``: decisions from the learned router alone.

Each row gets the chosen tier, its model (the policy's model for the tier) and a ``score`` in
[0, 1]: the cheapest rung's score, the quality the router expects to gain by going up from the
cheapest tier. Higher is harder, so an outside tool can redraw the
quality-vs-cost curves from these rows alone. Thresholds come from the policy's ``[learned]``.
"""

from __future__ import annotations

from pathlib import Path

from tierwise.core.decision import Action, Decision, Verdict
from tierwise.core.errors import EmptyPromptError
from tierwise.core.policy import Policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.model import load_router
from tierwise.learned.strategy import category_of


class LearnedBatch:
    """Routes requests with a router file and a policy's tiers and thresholds."""

    def __init__(self, router_file: Path, policy: Policy) -> None:
        self.router = load_router(router_file)
        self.policy = policy
        self.thresholds = dict(policy.config.learned.thresholds)

    def decide(self, request: RouteRequest) -> Decision:
        """The learned router's decision for one request."""
        if not request.text.strip():
            raise EmptyPromptError("the prompt is empty: there is nothing to route")
        scores = self.router.scores(request.text, category_of(request))
        wanted = self.router.choose(scores, self.thresholds)
        tier = _enabled(wanted, self.policy.ladder)
        model = self.policy.model_for(tier)
        reason = (
            f"learned router: expected gain from a higher tier {scores[0]:.3f}; "
            f"chose {wanted.value}"
        )
        return Decision(
            model=model.id,
            tier=tier,
            max_tokens=min(self.policy.config.tiers.max_tokens.get(tier, 4096), model.max_output),
            reason=reason,
            trace=(Verdict("learned", Action.DECIDE, reason, tier=tier, score=scores[0]),),
            baseline_model=self.policy.model_for(self.policy.top_tier).id,
            score=scores[0],
        )


def _enabled(tier: Tier, ladder: list[Tier]) -> Tier:
    below = [t for t in ladder if t <= tier]
    return below[-1] if below else ladder[0]
