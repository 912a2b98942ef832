"""Reading the month's spend from the decision store: one grouped sum per kind of key.

``cost_micro_usd`` is each request's whole cost (every attempt and the routing calls), the same
number reports add up. Queries go through the store's SQLAlchemy engine, so they work the same
on SQLite and PostgreSQL; they run on the refresher's thread, never on the request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from tierwise.budgets.ledger import Key
from tierwise.core.budget_config import Scope
from tierwise.ledger.store.schema import decisions

if TYPE_CHECKING:
    from tierwise.ledger.store import Store

ID_CHUNK = 1000  # request ids looked up per query


class StoreSpend:
    """The spend per caller and per user since a moment, as recorded in ``store``."""

    def __init__(self, store: Store, scopes: Sequence[Scope]) -> None:
        self.store = store
        self.scopes = tuple(scopes)

    def read(self, since: datetime, pending: Sequence[str]) -> tuple[dict[Key, int], set[str]]:
        """The sums per key since ``since``, and which of the ``pending`` request ids are stored.

        The ids are looked up first (see ``SpendLedger.reconcile``). Raises SQLAlchemy's errors
        (the caller keeps its last read).
        """
        confirmed: set[str] = set()
        totals: dict[Key, int] = {}
        with self.store.engine.connect() as conn, conn.begin():
            for start in range(0, len(pending), ID_CHUNK):
                chunk = list(pending[start : start + ID_CHUNK])
                found = select(decisions.c.request_id).where(decisions.c.request_id.in_(chunk))
                confirmed.update(conn.execute(found).scalars())
            for scope in self.scopes:
                column = decisions.c.caller if scope == "caller" else decisions.c.user_id
                query = (
                    select(column, func.sum(decisions.c.cost_micro_usd))
                    .where(decisions.c.time >= since, column.is_not(None))
                    .group_by(column)
                )
                for key, total in conn.execute(query):
                    totals[(scope, key)] = int(total or 0)
        return totals, confirmed
