"""Task recognition by the action asked: the verb and its object, not a listed keyword.

Keyword rules name tasks; this strategy reads what is asked of what. A request to judge a
risk ("anything to worry about?", "fine?") about something exposed to other people (uploads,
links, tokens, user-typed text, money) is a security review even with no security word in it.
A cheap verb ("export as CSV", "add a field", "rename") on an object with several hard
constraints (millions of rows, no duplicates, live writes, rolling deploys) is not cheap: the
floor goes up. A transformation named only by its shape ("turn X into Y") is mechanical when
nothing else decided. Only the instruction is read, never the payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.action_config import ActionsConfig
from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import Route
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar
from tierwise.core.strategies.keywords import PhraseMatcher
from tierwise.core.tiers import Tier

_RISK_ASK, _RISK_OBJECT, _HARD, _TRANSFORM = range(4)


class ActionStrategy:
    """Floors for risk questions and hard objects; decides shape-named transformations."""

    name = "action"
    only_decides = False

    def __init__(self, config: ActionsConfig, routes: dict[str, Route]) -> None:
        self._config = config
        self._route = routes.get(config.transform_task_type)
        self._matcher = PhraseMatcher.compile(
            [config.risk_asks, config.risk_objects, config.hard_objects, config.transforms]
        )

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        config = self._config
        found: dict[int, list[str]] = {}
        for needle in self._matcher.find(features):
            found.setdefault(needle.rule, []).append(needle.phrase)
        hard = sorted(set(found.get(_HARD, [])))
        if len(hard) >= config.hard_min and _below(so_far, config.hard_tier):
            return Verdict(
                self.name,
                Action.FLOOR,
                f"the object is hard ({', '.join(map(repr, hard[:4]))})",
                tier=config.hard_tier,
            )
        if _RISK_ASK in found and _RISK_OBJECT in found and _below(so_far, config.risk_tier):
            ask, thing = found[_RISK_ASK][0], found[_RISK_OBJECT][0]
            return Verdict(
                self.name,
                Action.FLOOR,
                f"asks what can go wrong ({ask!r}) with something exposed ({thing!r})",
                tier=config.risk_tier,
            )
        if so_far.tier is None and _TRANSFORM in found and self._route is not None:
            return Verdict(
                self.name,
                Action.DECIDE,
                f"a mechanical transformation ({found[_TRANSFORM][0]!r})",
                tier=self._route.tier,
                task_type=config.transform_task_type,
                max_tokens=self._route.max_tokens,
            )
        return Verdict(self.name, Action.PASS, "no action recognised")


def _below(so_far: SoFar, tier: Tier) -> bool:
    """Whether a floor at ``tier`` could still change the decision."""
    return so_far.tier is None or so_far.tier < tier


@dataclass(frozen=True)
class BackgroundStrategy:
    """Decides the cheapest tier for a client's background call (a title, a summary)."""

    config: ActionsConfig
    name: str = "background"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        if not features.background:
            return Verdict(self.name, Action.PASS, "a task the person asked for")
        return Verdict(
            self.name,
            Action.DECIDE,
            "a client's background call (title or summary)",
            tier=self.config.background_tier,
        )
