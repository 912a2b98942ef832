"""Shadow evaluations in the store: one ``tierwise_shadow`` row each, and the spend they add up to.

The budget is read back from these rows (``spent``), not from a counter in memory, so it holds
across restarts and across proxies sharing one PostgreSQL database. The verdict is written to
the decision record's ``quality_score`` too; the recorder writes that record in batches, so
``score`` waits (off the request path, in a worker thread) until it is there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from tierwise.core.errors import StoreError
from tierwise.ledger.store import Store
from tierwise.ledger.store.schema import shadow

__all__ = ["Ledger", "ShadowRow", "month_start"]


@dataclass(frozen=True, slots=True)
class ShadowRow:
    """One evaluation as stored (column for column)."""

    request_id: str
    time: datetime
    task_type: str | None
    routed_model: str
    baseline_model: str
    judge_model: str
    verdict: str | None
    quality_score: float | None
    routed_position: str | None
    both_orders: bool
    orders_disagree: bool | None
    error: str | None
    shadow_input_tokens: int | None
    shadow_output_tokens: int | None
    judge_input_tokens: int | None
    judge_output_tokens: int | None
    shadow_cost_micro_usd: int | None
    judge_cost_micro_usd: int | None

    @property
    def spent_micro(self) -> int:
        return (self.shadow_cost_micro_usd or 0) + (self.judge_cost_micro_usd or 0)


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


class Ledger:
    """Reads and writes shadow evaluations; blocking (call it from a worker thread)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, row: ShadowRow) -> None:
        """Store one evaluation (a request already evaluated is left as it is)."""
        engine = self.store.engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        # one statement, so SQLite takes the write lock at once (and waits for it, where a
        # read-then-write transaction would fail with "database is locked")
        statement = dialect.insert(shadow).values(**asdict(row)).on_conflict_do_nothing()
        with self._errors("write to"), engine.begin() as conn:
            conn.execute(statement)

    def spent(self, now: datetime) -> tuple[int, int]:
        """Micro-dollars spent on shadow and judge calls since the UTC day's and the month's
        start."""
        total = func.coalesce(shadow.c.shadow_cost_micro_usd, 0) + func.coalesce(
            shadow.c.judge_cost_micro_usd, 0
        )
        month, day = month_start(now), day_start(now)
        query = select(
            func.coalesce(func.sum(total), 0),
            func.coalesce(func.sum(total).filter(shadow.c.time >= day), 0),
        ).where(shadow.c.time >= month)
        with self._errors("read"), self.store.engine.begin() as conn:
            in_month, in_day = conn.execute(query).one()
        return int(in_day), int(in_month)

    def rows(self) -> list[ShadowRow]:
        """Every evaluation, oldest first (for tests and small exports)."""
        names = ShadowRow.__dataclass_fields__
        query = select(*(shadow.c[name] for name in names)).order_by(shadow.c.id)
        with self._errors("read"), self.store.engine.begin() as conn:
            return [ShadowRow(**row._asdict()) for row in conn.execute(query)]

    def score(self, request_id: str, score: float, wait: float, poll: float = 0.05) -> bool:
        """Set the decision record's ``quality_score`` once the recorder has written it; ``False``
        if it is not there within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        delay = poll
        while True:
            if self.store.set_quality_score(request_id, score):
                return True
            if time.monotonic() + delay > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Database errors as ``StoreError`` with one line of why."""
        try:
            yield
        except sa_exc.SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StoreError(
                f"cannot {action} the shadow evaluations in {self.store.display}: "
                f"{detail[0] if detail else type(exc).__name__}"
            ) from exc
