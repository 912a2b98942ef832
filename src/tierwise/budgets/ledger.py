"""Spend this month per key: what the store last said, plus this process's spend not yet in it.

The store is the shared truth (several proxy processes on one PostgreSQL all write there), but
it is read only every few seconds, off the request path. Between two reads, what this process
spent itself is added locally, so this process never overshoots because of its own traffic:
each charge is kept by request id until a read of the store finds that request's record, then
it is dropped (the store's sum now holds it). A record that never reaches the store (recording
failed) stays counted locally for the rest of the month: budgets err on the side of spending
less.

Thread-safe: the proxy charges from its event loop, the refresher reads from its thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from tierwise.budgets.steps import Month
from tierwise.core.budget_config import Scope

Key = tuple[Scope, str]
MAX_PENDING = 100_000  # charges tracked by request id; older ones are kept as a lump sum


class SpendLedger:
    """Per-key spend in micro-dollars for the current UTC month."""

    def __init__(self, month: Month) -> None:
        self._lock = threading.Lock()
        self._month = month
        self._stored: dict[Key, int] = {}  # the store's sums at the last read
        self._pending: dict[str, tuple[tuple[Key, ...], int]] = {}  # request id -> keys, cost
        self._local: dict[Key, int] = {}  # charges not (yet) seen in the store, per key

    @property
    def month(self) -> Month:
        """The month the ledger counts."""
        return self._month

    def spent(self, key: Key) -> int:
        """What ``key`` has spent this month, as far as this process knows."""
        return self._stored.get(key, 0) + self._local.get(key, 0)

    def charge(
        self, month: Month, keys: Sequence[Key], micro: int, request_id: str | None = None
    ) -> None:
        """Add one request's cost to ``keys``. With a ``request_id`` the charge waits for the
        store to confirm it (``reconcile``); without one it stays local for the month."""
        if not keys or micro <= 0:
            return
        with self._lock:
            if month != self._month:
                if month < self._month:
                    return  # a request of last month finishing late
                self._roll(month)
            for key in keys:
                self._local[key] = self._local.get(key, 0) + micro
            if request_id is not None:
                self._pending[request_id] = (tuple(keys), micro)
                if len(self._pending) > MAX_PENDING:  # never confirmed: keep the money only
                    self._pending.pop(next(iter(self._pending)))

    def advance(self, month: Month) -> None:
        """Start ``month`` if it is later than the one counted (nothing spent in it yet)."""
        if month > self._month:
            with self._lock:
                if month > self._month:
                    self._roll(month)

    def pending_ids(self) -> list[str]:
        """Request ids charged here and not yet found in the store."""
        with self._lock:
            return list(self._pending)

    def reconcile(self, month: Month, stored: Mapping[Key, int], confirmed: Iterable[str]) -> None:
        """Take a read of the store: its sums for ``month``, and which pending ids it holds.

        The ids must have been looked up *before* the sums were read, so that a record written
        in between is counted twice (briefly, until the next read) rather than not at all.
        """
        with self._lock:
            if month != self._month:
                if month < self._month:
                    return
                self._roll(month)
            self._stored = dict(stored)  # first: a reader in between over-counts, never under
            for request_id in confirmed:
                entry = self._pending.pop(request_id, None)
                if entry is None:
                    continue
                keys, micro = entry
                for key in keys:
                    left = self._local.get(key, 0) - micro
                    if left > 0:
                        self._local[key] = left
                    else:
                        self._local.pop(key, None)

    def _roll(self, month: Month) -> None:
        """A new month: every budget starts again."""
        self._month = month
        self._stored = {}
        self._pending = {}
        self._local = {}
