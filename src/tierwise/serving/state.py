"""What every handler shares: the router, the upstream pool, the settings and the outcome hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tierwise.ledger.outcome import OutcomeHook
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.settings import ProxySettings
from tierwise.serving.upstream import Upstream

if TYPE_CHECKING:
    from tierwise.budgets.guard import BudgetGuard
    from tierwise.serving.shadow.worker import ShadowWorker


@dataclass(frozen=True, slots=True)
class ProxyState:
    """One per app; read-only after start-up (no global mutable state)."""

    router: MessagesRouter
    upstream: Upstream
    settings: ProxySettings
    on_outcome: OutcomeHook
    shadow: ShadowWorker | None = None  # shadow evaluation, when the policy enables it
    budgets: BudgetGuard | None = None  # monthly budgets, when the policy sets any
