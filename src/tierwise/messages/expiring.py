"""``ExpiringLRU``: a bounded, thread-safe map whose entries expire a while after their last use.

Conversation pins and agent sessions both need one: remembered across requests, bounded in
memory whatever callers send, forgotten when idle. The proxy is single-threaded async, but the
library client may be shared across threads, so every access takes one lock.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from tierwise.core.errors import InputError

V = TypeVar("V")


class ExpiringLRU(Generic[V]):
    """At most ``max_keys`` entries; one unused for ``ttl_seconds`` is gone; the least recently
    used goes first when full. ``clock`` is injectable for tests."""

    def __init__(
        self,
        max_keys: int,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        what: str = "max_keys",
    ) -> None:
        if max_keys <= 0:
            raise InputError(f"{what} must be positive, got {max_keys}")
        if ttl_seconds <= 0:
            raise InputError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self.max_keys = max_keys
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()

    def get(self, key: str, *, refresh: bool = True) -> V | None:
        """The value for ``key`` (``None``: never set, evicted or expired); ``refresh`` counts
        the read as a use."""
        with self._lock:
            return self._get(key, refresh)

    def put(self, key: str, value: V) -> None:
        """Set ``key``, as its most recent use."""
        with self._lock:
            self._put(key, value)

    def update(self, key: str, change: Callable[[V | None], V]) -> V:
        """Set ``key`` to ``change(current value or None)``, atomically; the new value."""
        with self._lock:
            value = change(self._get(key, False))
            self._put(key, value)
            return value

    def pop(self, key: str) -> None:
        """Forget ``key``, if it is there."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _get(self, key: str, refresh: bool) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if entry[1] <= now:
            del self._entries[key]
            return None
        if refresh:
            self._entries[key] = (entry[0], now + self.ttl_seconds)
            self._entries.move_to_end(key)
        return entry[0]

    def _put(self, key: str, value: V) -> None:
        self._entries[key] = (value, self._clock() + self.ttl_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
