"""Spend per key: the store's sums, this process's own charges, and the month rolling over.

The store is a real SQLite file; "another process" is a record written straight into it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tierwise.budgets import BudgetGuard, BudgetsConfig
from tierwise.budgets.ledger import Key
from tierwise.budgets.steps import month_of
from tierwise.core.budget_config import BudgetScope, to_micro
from tierwise.core.decision import Action
from tierwise.core.tiers import Tier
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

CONFIG = BudgetsConfig(callers=BudgetScope(limits={"ci": 1.0}))
CI: Key = ("caller", "ci")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "spend.db")) as store:
        store.migrate()
        yield store


def _record(request_id: str, usd: float, when: datetime, caller: str = "ci") -> DecisionRecord:
    return DecisionRecord(
        request_id=request_id,
        time=when,
        endpoint="messages",
        status=200,
        caller=caller,
        cost_micro_usd=to_micro(usd),
    )


def test_without_a_store_own_spend_counts_until_the_month_ends() -> None:
    clock = Clock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    guard = BudgetGuard(CONFIG, clock=clock)
    guard.ledger.charge(month_of(clock.now), [CI], to_micro(0.85))
    check = guard.check("ci", None)
    assert check.ceiling == Tier.SONNET
    assert check.limits[0].action is Action.CEILING
    assert "85%" in check.limits[0].reason
    guard.ledger.charge(month_of(clock.now), [CI], to_micro(0.15))
    refusal = guard.check("ci", None).refusal
    assert refusal is not None
    assert refusal.retry_after == 3600  # until midnight UTC on the first
    assert "caller 'ci'" in refusal.message
    clock.now += timedelta(hours=2)  # December: the budget starts again
    check = guard.check("ci", None)
    assert check.refusal is None
    assert check.ceiling is None


def test_keys_without_a_budget_are_not_checked() -> None:
    guard = BudgetGuard(CONFIG)
    assert guard.check("someone-else", "u1").limits == ()
    assert guard.check(None, None).limits == ()


def test_spend_recorded_by_another_process_counts_after_a_refresh(store: Store) -> None:
    now = datetime.now(UTC)
    guard = BudgetGuard(CONFIG, store)
    assert guard.refresh()
    assert guard.check("ci", None).ceiling is None
    store.insert_many([_record("req-other-1", 0.9, now), _record("req-other-2", 5, now, "x")])
    assert guard.check("ci", None).ceiling is None  # not read yet
    assert guard.refresh()
    assert guard.ledger.spent(CI) == to_micro(0.9)
    assert guard.check("ci", None).ceiling == Tier.SONNET


def test_last_months_spend_does_not_count(store: Store) -> None:
    now = datetime.now(UTC)
    last_month = now.replace(day=1, hour=0) - timedelta(days=1)
    store.insert_many([_record("req-old", 5.0, last_month), _record("req-new", 0.25, now)])
    guard = BudgetGuard(CONFIG, store)
    assert guard.refresh()
    assert guard.ledger.spent(CI) == to_micro(0.25)


def test_own_charges_count_once_before_and_after_their_record_arrives(store: Store) -> None:
    now = datetime.now(UTC)
    guard = BudgetGuard(CONFIG, store)
    guard.ledger.charge(month_of(now), [CI], to_micro(0.3), "req-mine")
    assert guard.refresh()  # the recorder has not written it yet: still counted locally
    assert guard.ledger.spent(CI) == to_micro(0.3)
    assert guard.ledger.pending_ids() == ["req-mine"]
    store.insert_many([_record("req-mine", 0.3, now)])
    assert guard.refresh()  # now in the store's sum, and no longer pending
    assert guard.ledger.spent(CI) == to_micro(0.3)
    assert guard.ledger.pending_ids() == []


def test_an_unreadable_store_keeps_the_last_read_and_own_charges(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with Store(str(tmp_path / "never-migrated.db")) as store:  # no table: every read fails
        guard = BudgetGuard(CONFIG, store)
        assert not guard.refresh()
        guard.ledger.charge(month_of(now), [CI], to_micro(1.0), "req-mine")
        assert not guard.refresh()
        assert guard.check("ci", None).refusal is not None


def test_the_refresher_thread_reads_the_store(store: Store) -> None:
    config = BudgetsConfig(callers=BudgetScope(limits={"ci": 1.0}), refresh_seconds=0.05)
    guard = BudgetGuard(config, store)
    guard.start()
    try:
        store.insert_many([_record("req-other", 1.0, datetime.now(UTC))])
        deadline = time.monotonic() + 10
        while guard.check("ci", None).refusal is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert guard.check("ci", None).refusal is not None
    finally:
        guard.close()
