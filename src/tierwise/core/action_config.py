"""Policy schema for task recognition by the action asked (the ``action`` strategy).

Kept beside ``policy_schema`` like the budgets' schema: the phrase lists are data the policy
file owns, matched with the keyword rules' syntax (``word*``, ``re:``, CJK substrings).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tierwise.core.tiers import Tier


class ActionsConfig(BaseModel):
    """What the action asked says when no keyword names the task, or a keyword names it wrong."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # "what can go wrong", "fine?", "anything to worry about": an ask to judge a risk ...
    risk_asks: list[str] = Field(default_factory=list)
    # ... about something exposed (user input, uploads, links, tokens, money): a security review
    risk_objects: list[str] = Field(default_factory=list)
    risk_tier: Tier = Tier.OPUS
    # constraints that make a cheap verb hard (no duplicates, millions of rows, live writes)
    hard_objects: list[str] = Field(default_factory=list)
    hard_min: int = Field(default=2, ge=1)  # distinct constraints named before the floor applies
    hard_tier: Tier = Tier.OPUS
    # mechanical transformations named by their shape ("turn X into Y", "把…转成…")
    transforms: list[str] = Field(default_factory=list)
    transform_task_type: str = "convert"
    # a client's background call (session title, summary): the cheapest tier does it
    background_tier: Tier = Tier.HAIKU
