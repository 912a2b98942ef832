"""Budgets and user tiers: monthly USD budgets per caller and per user, enforced as ceilings.

As a budget runs down, the policy's ``[budgets].steps`` lower the ceiling tier (a ``budget``
verdict in the decision's trace says so); once it is spent, requests are refused with HTTP 429
(the proxy) or ``anthropic.RateLimitError`` (the library client) until the month resets (UTC).
Spend is read from the decision store, so budgets hold across every process recording into
one database. See docs/budgets.md.

    config.py   the policy's [budgets] section       steps.py   the pure step logic, months
    ledger.py   spend per key (store + own charges)  source.py  the store's sums per key
    guard.py    check / charge / refresh             errors.py  BudgetExceededError
    wire.py     the 429's body and headers           sdk.py     the SDK's RateLimitError
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tierwise.budgets.errors import BudgetExceededError
from tierwise.budgets.steps import Standing, assess
from tierwise.core.budget_config import BudgetsConfig, BudgetScope, BudgetStep

if TYPE_CHECKING:
    from tierwise.budgets.guard import BudgetCheck, BudgetGuard


def __getattr__(name: str) -> Any:
    """The guard is imported on first use: the policy schema imports this package, and most
    commands never enforce a budget (the guard brings SQLAlchemy in)."""
    if name in ("BudgetCheck", "BudgetGuard"):
        from tierwise.budgets import guard

        return getattr(guard, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BudgetCheck",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetScope",
    "BudgetStep",
    "BudgetsConfig",
    "Standing",
    "assess",
]
