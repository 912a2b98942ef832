"""Brevity: a short request with nothing hard about it is usually a quick job.

"what port does postgres listen on", "add a .editorconfig", "cron for every weekday at 9":
when no keyword decided, the request is short, and there is no stack trace or pile of files,
the cheapest tier answers it well. Longer asks with no signal fall through to the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import BrevityConfig
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar


@dataclass(frozen=True)
class BrevityStrategy:
    """Decides the brevity tier for short requests without code-heavy or debugging signals."""

    config: BrevityConfig
    name: str = "brevity"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        config = self.config
        limit = config.max_words_with_code if features.code_blocks else config.max_words
        words = features.instruction_words
        if words == 0 or words > limit or features.stack_trace or features.files_mentioned > 1:
            return Verdict(self.name, Action.PASS, f"not a short, plain request ({words} words)")
        return Verdict(
            self.name,
            Action.DECIDE,
            f"a short request ({words} words) with no signal of difficulty",
            tier=config.tier,
        )
