"""Where a key stands against its budget: the pure step logic, and the calendar month.

``assess`` maps spend and budget to a ``Standing``: below the first step nothing changes;
from a step's ``at`` on, the ceiling is that step's tier (the highest step reached wins, and
later steps never raise the ceiling); from 100 % on, the request is refused. No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tierwise.core.budget_config import MICRO, BudgetStep, Scope
from tierwise.core.tiers import Tier

Month = tuple[int, int]  # (year, month), UTC


@dataclass(frozen=True, slots=True)
class Standing:
    """One key's spend this month against its budget, and what that allows."""

    scope: Scope
    key: str
    spent_micro: int
    limit_micro: int
    ceiling: Tier | None  # None: no step reached
    refused: bool  # the budget is spent

    @property
    def fraction(self) -> float:
        """The share of the budget spent (may exceed 1)."""
        return self.spent_micro / self.limit_micro

    def describe(self) -> str:
        """``caller 'ci' has spent 82% ($8.20) of its $10.00 monthly budget``."""
        return (
            f"{self.scope} {self.key!r} has spent {self.fraction:.0%} "
            f"({usd(self.spent_micro)}) of its {usd(self.limit_micro)} monthly budget"
        )


def assess(
    scope: Scope, key: str, spent_micro: int, limit_micro: int, steps: Sequence[BudgetStep]
) -> Standing:
    """Where ``key`` stands; ``steps`` in increasing order of ``at`` (as the schema checks)."""
    if limit_micro <= 0:
        raise ValueError(f"a budget must be positive, not {limit_micro} micro-dollars")
    fraction = spent_micro / limit_micro
    ceiling: Tier | None = None
    for step in steps:
        if fraction >= step.at:
            ceiling = step.ceiling if ceiling is None else min(ceiling, step.ceiling)
    return Standing(scope, key, spent_micro, limit_micro, ceiling, refused=fraction >= 1.0)


def month_of(moment: datetime) -> Month:
    """The UTC calendar month of ``moment`` (an aware datetime)."""
    utc = moment.astimezone(UTC)
    return (utc.year, utc.month)


def month_start(month: Month) -> datetime:
    """Midnight UTC on the first day of ``month``."""
    return datetime(month[0], month[1], 1, tzinfo=UTC)


def next_month_start(month: Month) -> datetime:
    """When ``month`` ends and every budget starts again."""
    year, number = month
    return month_start((year + 1, 1) if number == 12 else (year, number + 1))


def usd(micro: int) -> str:
    """Micro-dollars as ``$8.20`` (cents; smaller amounts keep their digits: ``$0.0042``)."""
    dollars = micro / MICRO
    return f"${dollars:,.2f}" if abs(dollars) >= 1 or micro == 0 else f"${dollars:.4g}"
