"""The budget guard: what each request may use, given what its caller and user have spent.

``check`` runs on the request path and only reads a ``SpendLedger`` (a few dictionary look-ups
under no lock); ``charge`` adds a finished request's cost to it; a refresher thread re-reads
the month's spend from the store every ``refresh_seconds`` (``start`` / ``close``). Without a
store, budgets hold for this process's own spend only.

A request is checked against every budget that applies to it (its caller's, its user's): the
lowest ceiling wins, and any spent budget refuses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from tierwise.budgets.errors import BudgetExceededError
from tierwise.budgets.ledger import Key, SpendLedger
from tierwise.budgets.steps import Standing, assess, month_of, month_start, next_month_start
from tierwise.core.budget_config import BudgetsConfig, Scope
from tierwise.core.decision import Action, Verdict
from tierwise.core.errors import TierwiseError
from tierwise.core.tiers import Tier
from tierwise.ledger.records import TEXT_CAP, micro_usd

if TYPE_CHECKING:
    from tierwise.budgets.source import StoreSpend
    from tierwise.ledger.outcome import Outcome, OutcomeHook
    from tierwise.ledger.store import Store

_log = logging.getLogger("tierwise.budgets")
STRATEGY = "budget"  # the name budget verdicts carry in a decision's trace
SCOPES: tuple[Scope, ...] = ("caller", "user")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """What budgets say about one request: a verdict per budget, and a refusal if one is spent."""

    limits: tuple[Verdict, ...]  # for the decision's trace; CEILING when a step applies
    refusal: BudgetExceededError | None = None

    @property
    def ceiling(self) -> Tier | None:
        """The lowest ceiling any budget sets (``None``: none)."""
        tiers = [v.tier for v in self.limits if v.action is Action.CEILING and v.tier]
        return min(tiers) if tiers else None


NO_BUDGET = BudgetCheck(())


class BudgetGuard:
    """Monthly budgets per caller (the proxy key's name) and per user (``metadata.user_id``).

    With ``store`` (the recorder's), spend is the store's sum for the month, shared by every
    process recording there, plus this process's charges not yet found in it. ``clock`` is for
    tests.
    """

    def __init__(
        self,
        config: BudgetsConfig,
        store: Store | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.config = config
        self._clock = clock
        self.ledger = SpendLedger(month_of(clock()))
        self._scopes = tuple(scope for scope in SCOPES if config.scope(scope).enabled)
        self._source: StoreSpend | None = None
        if store is not None:
            from tierwise.budgets.source import StoreSpend

            self._source = StoreSpend(store, self._scopes)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.refreshed_at: datetime | None = None  # the last successful read of the store

    @property
    def shared(self) -> bool:
        """Whether spend is read from a store (shared across processes) or local only."""
        return self._source is not None

    # -- the request path -----------------------------------------------------------------

    def check(self, caller: str | None, user_id: str | None) -> BudgetCheck:
        """The budgets' verdicts on a request from ``caller`` for ``user_id``."""
        keys = self._keys(caller, user_id)
        if not keys:
            return NO_BUDGET
        now = self._clock()
        month = month_of(now)
        self.ledger.advance(month)
        verdicts: list[Verdict] = []
        refusal: BudgetExceededError | None = None
        for key, limit in keys:
            standing = assess(*key, self.ledger.spent(key), limit, self.config.steps)
            verdicts.append(_verdict(standing))
            if standing.refused and refusal is None:
                refusal = BudgetExceededError(standing, next_month_start(month), now)
        return BudgetCheck(tuple(verdicts), refusal)

    def charge(self, outcome: Outcome) -> None:
        """Add a finished request's whole cost to its caller's and user's spend."""
        total = outcome.total_cost
        if total is None:
            return
        routed = outcome.routed
        user_id = user_id_of(routed.source_body if routed is not None else None)
        keys = [key for key, _ in self._keys(outcome.caller, user_id)]
        if keys:
            request_id = outcome.request_id if self._source is not None else None
            self.ledger.charge(month_of(self._clock()), keys, micro_usd(total), request_id)

    def observe(self, hook: OutcomeHook) -> OutcomeHook:
        """``hook`` preceded by ``charge`` (each failure contained, as hooks must never raise)."""

        def charged(outcome: Outcome) -> None:
            try:
                self.charge(outcome)
            except Exception:
                _log.exception("cannot charge request %s to its budgets", outcome.request_id)
            hook(outcome)

        return charged

    def _keys(self, caller: str | None, user_id: str | None) -> list[tuple[Key, int]]:
        """The budgets that apply: ``((scope, key), limit in micro-dollars)``."""
        found: list[tuple[Key, int]] = []
        named: tuple[tuple[Scope, str | None], ...] = (("caller", caller), ("user", user_id))
        for scope, name in named:
            if not name or scope not in self._scopes:
                continue
            name = name[:TEXT_CAP]  # as the record keeps it, so the store's sums match
            limit = self.config.scope(scope).limit_micro(name)
            if limit is not None:
                found.append(((scope, name), limit))
        return found

    # -- off the request path -------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-read the month's spend from the store; ``False`` when it could not be read (the
        last read and the local charges keep being used)."""
        if self._source is None:
            return False
        month = month_of(self._clock())
        pending = self.ledger.pending_ids()
        try:
            totals, confirmed = self._source.read(month_start(month), pending)
        except (SQLAlchemyError, TierwiseError, OSError) as exc:
            if not self._failing:
                _log.warning(
                    "budgets: cannot read spend from the store (%s); using the last "
                    "read plus this process's own spend",
                    _first_line(exc),
                )
            self._failing = True
            return False
        if self._failing:
            _log.info("budgets: reading spend from the store again")
        self._failing = False
        self.ledger.reconcile(month, totals, confirmed)
        self.refreshed_at = self._clock()
        return True

    def start(self) -> None:
        """Read the store once now, then every ``refresh_seconds`` in a daemon thread."""
        if self._source is None or self._thread is not None:
            return
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tierwise-budgets", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the refresher (``start`` may be called again)."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.config.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # a bug must not silently stop the refresher
                _log.exception("budgets: refresh failed")


def _verdict(standing: Standing) -> Verdict:
    if standing.refused:
        return Verdict(STRATEGY, Action.PASS, f"refused: {standing.describe()}")
    if standing.ceiling is not None:
        return Verdict(STRATEGY, Action.CEILING, standing.describe(), tier=standing.ceiling)
    return Verdict(STRATEGY, Action.PASS, standing.describe())


def user_id_of(body: Mapping[str, Any] | None) -> str | None:
    """The request's ``metadata.user_id`` (the tenant key), as the record keeps it."""
    metadata = body.get("metadata") if body is not None else None
    value = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    return value[:TEXT_CAP] if isinstance(value, str) and value else None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
