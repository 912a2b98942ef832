"""The policy's ``[budgets]`` section: monthly USD budgets per caller and per user, and the steps.

Validated at load time like the rest of the policy (``PolicyConfig.budgets``), so a negative
amount or steps out of order fail at start-up with the field named, never on a request::

    [budgets]
    steps = [{at = 0.8, ceiling = "sonnet"}, {at = 0.95, ceiling = "haiku"}]
    refresh_seconds = 5
    reserve_output_tokens = 4096   # optional: reserve at most this much output per request

    [budgets.callers]          # by the name of the proxy key presented
    default_usd = 50.0         # every caller not listed below
    limits = {ci = 10.0, research = 500.0}

    [budgets.users]            # by the request's metadata.user_id (tenants)
    limits = {"acme" = 200.0}
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tierwise.core.tiers import Tier

Scope = Literal["caller", "user"]
Usd = Annotated[float, Field(gt=0, allow_inf_nan=False)]
MICRO = 1_000_000


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt budget must not silently mean "no budget"."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BudgetStep(_Strict):
    """From ``at`` (a share of the budget spent, below 1) on, no tier above ``ceiling``."""

    at: float = Field(gt=0, lt=1)
    ceiling: Tier


class BudgetScope(_Strict):
    """Budgets for one kind of key: the listed ones, and a default for every other key."""

    default_usd: Usd | None = None  # None: keys not in ``limits`` have no budget
    limits: dict[str, Usd] = Field(default_factory=dict)

    @field_validator("limits")
    @classmethod
    def _named(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if not name.strip():
                raise ValueError("a budget needs a non-blank name")
        return value

    @property
    def enabled(self) -> bool:
        """Whether any key of this scope has a budget."""
        return self.default_usd is not None or bool(self.limits)

    def limit_micro(self, key: str) -> int | None:
        """The monthly budget of ``key`` in micro-dollars (``None``: no budget)."""
        usd = self.limits.get(key, self.default_usd)
        return None if usd is None else to_micro(usd)


def _default_steps() -> list[BudgetStep]:
    return [BudgetStep(at=0.8, ceiling=Tier.SONNET), BudgetStep(at=0.95, ceiling=Tier.HAIKU)]


class BudgetsConfig(_Strict):
    """Monthly (calendar month, UTC) budgets; at 100 % spent, requests are refused (429).

    ``steps`` lower the ceiling tier as a budget runs down: each later step (a higher ``at``)
    must not raise the ceiling again. ``refresh_seconds`` is how often the spend recorded by
    every process sharing the store is re-read (for the steps). Before a request is sent its
    estimated cost is reserved against the cap: its prompt plus ``max_tokens`` of output, or at
    most ``reserve_output_tokens`` of output when set (see docs/budgets.md).
    """

    callers: BudgetScope = Field(default_factory=BudgetScope)
    users: BudgetScope = Field(default_factory=BudgetScope)
    steps: list[BudgetStep] = Field(default_factory=_default_steps)
    refresh_seconds: float = Field(default=5.0, gt=0, le=3600)
    reserve_output_tokens: int | None = Field(default=None, ge=1)  # None: the request's max_tokens

    @field_validator("steps")
    @classmethod
    def _ordered(cls, value: list[BudgetStep]) -> list[BudgetStep]:
        for before, after in pairwise(value):
            if after.at <= before.at:
                raise ValueError(
                    f"steps must be in increasing order of 'at' ({after.at} follows {before.at})"
                )
            if after.ceiling > before.ceiling:
                raise ValueError(
                    f"a later step must not raise the ceiling ({after.ceiling.value} at "
                    f"{after.at} is above {before.ceiling.value} at {before.at})"
                )
        return value

    @property
    def enabled(self) -> bool:
        """Whether any budget is configured."""
        return self.callers.enabled or self.users.enabled

    def scope(self, scope: Scope) -> BudgetScope:
        """The budgets of ``scope``."""
        return self.callers if scope == "caller" else self.users


def to_micro(usd: float | Decimal) -> int:
    """Dollars as whole micro-dollars (the unit the store sums)."""
    return int((Decimal(str(usd)) * MICRO).to_integral_value())
