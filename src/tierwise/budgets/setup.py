"""Building the guard for a process from its policy, and what to warn about at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tierwise.core.budget_config import BudgetsConfig

if TYPE_CHECKING:
    from tierwise.budgets.guard import BudgetGuard
    from tierwise.ledger.store import Store


@dataclass(frozen=True, slots=True)
class BudgetSetup:
    """The guard (``None``: no budgets configured) and the warnings to print."""

    guard: BudgetGuard | None
    notes: tuple[str, ...] = ()


def budget_guard(
    config: BudgetsConfig, store: Store | None, *, named_callers: bool = True
) -> BudgetSetup:
    """A guard reading spend from ``store`` (``None``: recording is off, so only this process's
    own spend counts). ``named_callers`` is whether callers present named keys (the proxy's
    client keys); without them, per-caller budgets can never apply."""
    if not config.enabled:
        return BudgetSetup(None)
    from tierwise.budgets.guard import BudgetGuard

    notes: list[str] = []
    if store is None:
        notes.append(
            "warning: budgets are enforced from this process's own spend only: recording is "
            "off, so spend by other processes and earlier runs this month is not counted"
        )
    if config.callers.enabled and not named_callers:
        notes.append(
            "warning: budgets.callers is set but callers present no named keys "
            "(--client-keys-file): only budgets.users (metadata.user_id) can apply"
        )
    return BudgetSetup(BudgetGuard(config, store), tuple(notes))
