"""The budget guard: what each request may use, given what its caller and user have spent.

``check`` runs on the request path and only reads a ``SpendLedger`` (a few dictionary look-ups
under no lock): the steps' ceilings, and a refusal once the spend last read reaches the cap.
``reserve`` (``reserve_async`` on an event loop) then takes the routed request's estimated
cost from every budget it is under, atomically in the shared store, or refuses it: that is what
holds the cap across processes (``reservations.py``). ``charge`` settles a finished request (the
estimate back, the real cost in) on a settling thread and adds its cost to the ledger; a
refresher thread re-reads the month's spend from the store every ``refresh_seconds`` (``start``
/ ``close``). Without a store, budgets hold for this process's own spend only.

A request is checked against every budget that applies to it (its caller's, its user's): the
lowest ceiling wins, and any spent budget refuses it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy.exc import SQLAlchemyError

from tierwise.budgets.errors import BudgetExceededError
from tierwise.budgets.estimate import estimate_micro
from tierwise.budgets.ledger import Key, SpendLedger
from tierwise.budgets.reservations import LocalReservations, Reservations, StoreReservations
from tierwise.budgets.steps import (
    Month,
    Standing,
    assess,
    month_of,
    month_start,
    next_month_start,
    usd,
)
from tierwise.core.budget_config import BudgetsConfig, Scope
from tierwise.core.decision import Action, Verdict
from tierwise.core.errors import TierwiseError
from tierwise.core.tiers import Tier
from tierwise.ledger.records import TEXT_CAP, micro_usd

if TYPE_CHECKING:
    from tierwise.budgets.source import StoreSpend
    from tierwise.ledger.outcome import Outcome, OutcomeHook
    from tierwise.ledger.store import Store
    from tierwise.messages.routing import Routed

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


@dataclass(frozen=True, slots=True)
class Reservation:
    """What one request in flight holds: ``micro`` under each of ``keys`` in ``month``."""

    month: Month
    keys: tuple[Key, ...]
    micro: int


_Settlement = tuple[Reservation, int]  # what was reserved, and the real cost


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
        self._reservations: Reservations = LocalReservations(self.ledger.spent)
        if store is not None:
            from tierwise.budgets.source import StoreSpend

            self._source = StoreSpend(store, self._scopes)
            self._reservations = StoreReservations(store, month_start)
        self._held: dict[str, Reservation] = {}  # request id -> its reservation
        self._held_lock = threading.Lock()
        self._settling: queue.SimpleQueue[_Settlement | None] = queue.SimpleQueue()
        self._settler: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._reserve_failing = False
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

    def reserve(
        self, request_id: str, caller: str | None, user_id: str | None, routed: Routed
    ) -> BudgetExceededError | None:
        """Reserve ``routed``'s estimated cost under every budget that applies, or refuse it
        (the first budget it does not fit in). Blocking: a round trip to a shared store.

        If the store cannot be reached the request is let through (``check`` has already
        applied the last spend read), and a warning is logged once.
        """
        keys = self._keys(caller, user_id)
        if not keys:
            return None
        now = self._clock()
        month = month_of(now)
        micro = estimate_micro(routed, self.config.reserve_output_tokens)
        try:
            shortfall = self._reservations.reserve(month, keys, micro)
        except (SQLAlchemyError, TierwiseError, OSError) as exc:
            if not self._reserve_failing:
                _log.warning(
                    "budgets: cannot reserve in the store (%s); admitting requests on the "
                    "last spend read",
                    _first_line(exc),
                )
            self._reserve_failing = True
            return None
        if self._reserve_failing:
            _log.info("budgets: reserving in the store again")
        self._reserve_failing = False
        if shortfall is None:
            with self._held_lock:
                self._held[request_id] = Reservation(month, tuple(k for k, _ in keys), micro)
            return None
        (scope, key), limit = shortfall.key, shortfall.limit
        standing = Standing(scope, key, shortfall.spent, limit, None, refused=True)
        detail = (
            f", and this request's estimated {usd(micro)} does not fit beside "
            f"{usd(shortfall.reserved)} reserved by requests in flight"
        )
        return BudgetExceededError(standing, next_month_start(month), now, detail)

    async def reserve_async(
        self, request_id: str, caller: str | None, user_id: str | None, routed: Routed
    ) -> BudgetExceededError | None:
        """``reserve`` for an event loop: the store's round trip runs on a worker thread."""
        if not self._keys(caller, user_id):
            return None
        if self._source is None:
            return self.reserve(request_id, caller, user_id, routed)
        return await anyio.to_thread.run_sync(self.reserve, request_id, caller, user_id, routed)

    def release(self, request_id: str) -> None:
        """Give a request's reservation back without a cost (it never produced an outcome)."""
        with self._held_lock:
            held = self._held.pop(request_id, None)
        if held is not None:
            self._settle(held, 0)

    def charge(self, outcome: Outcome) -> None:
        """Add a finished request's whole cost to its caller's and user's spend, and settle its
        reservation (a failed request's cost is 0: its reservation is released)."""
        with self._held_lock:
            held = self._held.pop(outcome.request_id, None)
        total = outcome.total_cost
        actual = micro_usd(total) if total is not None else 0
        month = month_of(self._clock())
        if held is not None:
            self._settle(held, actual)
        if total is None:
            return
        routed = outcome.routed
        user_id = user_id_of(routed.source_body if routed is not None else None)
        keys = [key for key, _ in self._keys(outcome.caller, user_id)]
        if keys:
            if held is None and self._source is not None:  # not reserved: add its cost still
                self._settle(Reservation(month, tuple(keys), 0), actual)
            request_id = outcome.request_id if self._source is not None else None
            self.ledger.charge(month, keys, actual, request_id)

    def _settle(self, held: Reservation, actual: int) -> None:
        """On the settling thread when it runs (never block the caller on the store)."""
        if self._settler is not None and self._source is not None:
            self._settling.put((held, actual))
        else:
            self._apply((held, actual))

    def _apply(self, settlement: _Settlement) -> None:
        held, actual = settlement
        try:
            self._reservations.settle(held.month, held.keys, held.micro, actual)
        except (SQLAlchemyError, TierwiseError, OSError) as exc:
            _log.warning("budgets: cannot settle a request in the store (%s)", _first_line(exc))

    def _run_settler(self) -> None:
        while (settlement := self._settling.get()) is not None:
            try:
                self._apply(settlement)
            except Exception:  # a bug must not silently stop settling
                _log.exception("budgets: settling failed")

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
        """Migrate the store (so a fresh database has its tables before the first read), read
        it once now, then every ``refresh_seconds`` in a daemon thread; start settling."""
        if self._source is None or self._thread is not None:
            return
        try:
            self._source.store.migrate()
        except TierwiseError as exc:  # the refresh below says so, and keeps trying
            _log.debug("budgets: cannot migrate the store yet: %s", exc)
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tierwise-budgets", daemon=True)
        self._thread.start()
        self._settler = threading.Thread(
            target=self._run_settler, name="tierwise-budgets-settle", daemon=True
        )
        self._settler.start()

    def close(self) -> None:
        """Stop the refresher, and settle what is queued (``start`` may be called again)."""
        thread, self._thread = self._thread, None
        settler, self._settler = self._settler, None
        self._stop.set()
        if settler is not None:
            self._settling.put(None)
            settler.join(timeout=30)
        while True:  # queued after the settler stopped: settle here
            try:
                settlement = self._settling.get_nowait()
            except queue.Empty:
                break
            if settlement is not None:
                self._apply(settlement)
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
