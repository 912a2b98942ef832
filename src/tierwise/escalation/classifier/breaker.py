"""A circuit breaker: after repeated failures, stop calling for a cool-down, then try once.

    closed ──N consecutive failures──► open ──cool-down elapsed──► half-open
       ▲                                 ▲                             │
       └──────────── a success ──────────┴──────── a failure ──────────┘

While open, ``allow`` says no without any call, so a classifier outage costs every request
nothing instead of its timeout. The clock is injected (``time.monotonic`` by default).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Thread-safe; one per classifier."""

    def __init__(
        self, failures_to_open: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures_to_open = failures_to_open
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        with self._lock:
            return self._state()

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open, only one trial at a time)."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> None:
        """A call answered: close the circuit."""
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        """A call failed: count it; open (again) at the threshold or after a failed trial."""
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.failures_to_open:
                self._opened_at = self.clock()
            self._trial = False

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.cooldown:
            return "half-open"
        return "open"
