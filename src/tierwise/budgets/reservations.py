"""Reserving a request's estimated cost before it is sent, so that a budget holds across processes.

Reading the month's spend every few seconds lets two proxies on one database each spend what the
other has not recorded yet. Instead, before a request goes upstream its estimated cost is
reserved, atomically, in the shared row of each budget it is under (``spent + reserved +
estimate <= limit``, else it is refused); when it ends, the estimate is given back and the real
cost added (``settle``). Every process sees every other's reservations at once, so overshoot is
bounded by how far the real costs of the requests in flight exceed their estimates.

``StoreReservations`` keeps the rows in the store's ``tierwise_budget_reservations`` (PostgreSQL:
a conditional ``UPDATE`` takes the row lock; SQLite: one ``BEGIN IMMEDIATE`` transaction);
``LocalReservations`` does the same in memory for a process without a store. Both are called
off the event loop (their callers use threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, and_, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tierwise.budgets.ledger import Key
from tierwise.budgets.steps import Month
from tierwise.ledger.store.schema import budget_reservations as rows
from tierwise.ledger.store.schema import decisions

if TYPE_CHECKING:
    from tierwise.ledger.store import Store

Limited = tuple[Key, int]  # a budget a request is under, and its limit in micro-dollars


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why a reservation was refused: the first budget it did not fit in, as the row stood."""

    key: Key
    spent: int
    reserved: int
    limit: int


class Reservations(Protocol):
    """Where reservations are kept (the store, or this process's memory)."""

    def reserve(self, month: Month, budgets: Sequence[Limited], micro: int) -> Shortfall | None:
        """Reserve ``micro`` under every budget, or under none (then why not)."""

    def settle(self, month: Month, keys: Sequence[Key], reserved: int, actual: int) -> None:
        """Give back ``reserved`` and add the real cost ``actual`` (0: released on failure)."""


def month_label(month: Month) -> str:
    """``(2026, 3)`` as ``"2026-03"``, the rows' month."""
    return f"{month[0]:04d}-{month[1]:02d}"


class StoreReservations:
    """The rows in the shared store; safe from many threads and processes at once."""

    def __init__(self, store: Store, month_start: Callable[[Month], datetime]) -> None:
        self.store = store
        self._month_start = month_start
        self._seeded: set[tuple[Key, Month]] = set()  # rows known to exist

    def reserve(self, month: Month, budgets: Sequence[Limited], micro: int) -> Shortfall | None:
        """One transaction: every budget's row takes the estimate, or the transaction rolls
        back. Budgets are locked in one order (caller, then user), so two never deadlock."""
        ordered = sorted(budgets)
        for _ in range(2):  # a row gone (the database was recreated): seed it again, once
            self._seed(month, [key for key, _ in ordered])
            result = self._take(month_label(month), ordered, micro)
            if result is not None and result.spent < 0:
                self._seeded.discard((result.key, month))
                continue
            return result
        return None

    def _take(self, label: str, ordered: Sequence[Limited], micro: int) -> Shortfall | None:
        with self._connect() as conn:
            transaction = conn.begin()
            try:
                for key, limit in ordered:
                    total = rows.c.spent_micro_usd + rows.c.reserved_micro_usd + micro
                    taken = conn.execute(
                        update(rows)
                        .where(_row(key, label), total <= limit)
                        .values(reserved_micro_usd=rows.c.reserved_micro_usd + micro)
                    )
                    if taken.rowcount != 1:
                        spent, reserved = _read(conn, key, label)
                        transaction.rollback()
                        return Shortfall(key, spent, reserved, limit)
                transaction.commit()
            finally:
                if transaction.is_active:
                    transaction.rollback()
        return None

    def settle(self, month: Month, keys: Sequence[Key], reserved: int, actual: int) -> None:
        """Give back the estimate and add the real cost, in one transaction (a key charged
        without a reservation, e.g. by the library client, gets its row first)."""
        if not keys or (reserved <= 0 and actual <= 0):
            return
        ordered = sorted(keys)
        if reserved <= 0:
            self._seed(month, ordered)
        label = month_label(month)
        left = case(
            (rows.c.reserved_micro_usd > reserved, rows.c.reserved_micro_usd - reserved),
            else_=0,
        )
        with self._connect() as conn, conn.begin():
            for key in ordered:
                conn.execute(
                    update(rows)
                    .where(_row(key, label))
                    .values(
                        reserved_micro_usd=left,
                        spent_micro_usd=rows.c.spent_micro_usd + max(actual, 0),
                    )
                )

    def _seed(self, month: Month, keys: Sequence[Key]) -> None:
        """Create the rows not known to exist, their spend the month's records so far (a
        budget first reserved mid-month, e.g. after an upgrade, starts from what was spent)."""
        missing = [key for key in keys if (key, month) not in self._seeded]
        if not missing:
            return
        since = self._month_start(month)
        label = month_label(month)
        insert: Any = postgresql.insert if self.store.backend == "postgresql" else sqlite.insert
        with self._connect() as conn, conn.begin():
            for scope, name in missing:
                column = decisions.c.caller if scope == "caller" else decisions.c.user_id
                spent = select(
                    literal(scope),
                    literal(name),
                    literal(label),
                    func.coalesce(func.sum(decisions.c.cost_micro_usd), 0),
                    literal(0),
                ).where(column == name, decisions.c.time >= since)
                names = ["scope", "key", "month", "spent_micro_usd", "reserved_micro_usd"]
                conn.execute(insert(rows).from_select(names, spent).on_conflict_do_nothing())
        self._seeded.update((key, month) for key in missing)

    def _connect(self) -> Any:
        conn = self.store.engine.connect()
        if self.store.backend == "sqlite":  # the write lock at BEGIN: check and take at once
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        return conn


def _row(key: Key, label: str) -> Any:
    scope, name = key
    return and_(rows.c.scope == scope, rows.c.key == name, rows.c.month == label)


def _read(conn: Connection, key: Key, label: str) -> tuple[int, int]:
    """The row's spent and reserved (``(-1, 0)``: there is no row)."""
    found = conn.execute(
        select(rows.c.spent_micro_usd, rows.c.reserved_micro_usd).where(_row(key, label))
    ).first()
    return (int(found[0]), int(found[1])) if found is not None else (-1, 0)


class LocalReservations:
    """In memory, for a guard without a store: its own requests in flight count against the cap
    (``spent`` is the ledger's, which already holds the settled costs)."""

    def __init__(self, spent: Callable[[Key], int]) -> None:
        self._spent = spent
        self._lock = threading.Lock()
        self._reserved: dict[Key, int] = {}

    def reserve(self, month: Month, budgets: Sequence[Limited], micro: int) -> Shortfall | None:
        """Reserve under every budget or none."""
        with self._lock:
            for key, limit in budgets:
                spent, reserved = self._spent(key), self._reserved.get(key, 0)
                if spent + reserved + micro > limit:
                    return Shortfall(key, spent, reserved, limit)
            for key, _ in budgets:
                self._reserved[key] = self._reserved.get(key, 0) + micro
        return None

    def settle(self, month: Month, keys: Sequence[Key], reserved: int, actual: int) -> None:
        """Give back the estimate (the ledger's charge adds the real cost)."""
        with self._lock:
            for key in keys:
                left = self._reserved.get(key, 0) - reserved
                if left > 0:
                    self._reserved[key] = left
                else:
                    self._reserved.pop(key, None)
