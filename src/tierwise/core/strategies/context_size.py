"""Context size: a task that must read a lot of context needs a model that reads deeply.

"Add error handling" sounds simple, but not across fifty pasted files. Mechanical tasks
(reformat, convert, extract...) are exempt: a long JSON file is still just a reformat.
Whether a model's window can hold the prompt at all is checked by the router, for every tier.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import ContextConfig
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar


@dataclass(frozen=True)
class ContextSizeStrategy:
    """Raises the floor for large prompts, by estimated tokens."""

    config: ContextConfig
    name: str = "context_size"
    only_decides: bool = False

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        config = self.config
        tokens = features.task_tokens
        if so_far.task_type in config.deep_read_exempt:
            return Verdict(
                self.name,
                Action.PASS,
                f"{so_far.task_type} is mechanical at any size ({tokens:,} tokens)",
            )
        if tokens >= config.deep_read_tokens:
            return Verdict(
                self.name,
                Action.FLOOR,
                f"{tokens:,} tokens of context (≥ {config.deep_read_tokens:,}) need deep reading",
                tier=config.deep_read_tier,
            )
        if tokens >= config.large_read_tokens:
            return Verdict(
                self.name,
                Action.FLOOR,
                f"{tokens:,} tokens of context (≥ {config.large_read_tokens:,})",
                tier=config.large_read_tier,
            )
        return Verdict(self.name, Action.PASS, f"{tokens:,} tokens of context")
