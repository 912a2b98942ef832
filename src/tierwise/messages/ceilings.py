"""Budget ceilings as routing reads them: the lowest in force, and the reason that leads with it."""

from __future__ import annotations

from collections.abc import Sequence

from tierwise.core.decision import Action, Verdict
from tierwise.core.tiers import Tier

__all__ = ["limit_ceiling", "with_limits"]


def limit_ceiling(limits: Sequence[Verdict]) -> Tier | None:
    """The lowest ceiling among ``limits`` (budget verdicts), ``None`` if none sets one."""
    tiers = [v.tier for v in limits if v.action is Action.CEILING and v.tier is not None]
    return min(tiers) if tiers else None


def with_limits(reason: str, limits: Sequence[Verdict]) -> str:
    """``reason`` led by the budget ceilings in force: the header is cut at 200 characters,
    and a downgrade by budget is what a caller most needs to see."""
    ceilings = [v for v in limits if v.action is Action.CEILING and v.tier is not None]
    if not ceilings:
        return reason
    notes = "; ".join(f"{v.strategy} ceiling {v.tier}: {v.reason}" for v in ceilings)
    return f"{notes}; {reason}"
