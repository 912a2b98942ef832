"""Queues of behaviours per model: what the fake server does with the next requests.

A test thread pushes while the server thread pops, so every access takes one lock. For each
``/v1/messages`` request the server takes, in order: the next behaviour queued for that model,
else the next one queued for any model, else the default for that model, else the default for
any model (normally ``Reply()``).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from tierwise.testing.behaviours import Behaviour, Drop, Fail, Reply, StreamError

ANY_MODEL: None = None


class Script:
    """Behaviours queued per model id (or for any model), consumed in order."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[Behaviour]] = {}
        self._defaults: dict[str | None, Behaviour] = {ANY_MODEL: default or Reply()}

    def push(self, *behaviours: Behaviour, model: str | None = ANY_MODEL) -> Script:
        """Queue ``behaviours`` for ``model`` (every model when ``None``); returns ``self``."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(behaviours)
        return self

    def set_default(self, behaviour: Behaviour, model: str | None = ANY_MODEL) -> Script:
        """What ``model`` does once its queues are empty (e.g. a model that is always down)."""
        with self._lock:
            self._defaults[model] = behaviour
        return self

    def next_for(self, model: str) -> Behaviour:
        """Take the behaviour for the next request to ``model``."""
        with self._lock:
            for key in (model, ANY_MODEL):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return self._defaults.get(model) or self._defaults[ANY_MODEL]

    def pending(self, model: str | None = ANY_MODEL) -> int:
        """How many queued behaviours are left for ``model`` (``None``: in every queue)."""
        with self._lock:
            if model is ANY_MODEL:
                return sum(len(queue) for queue in self._queues.values())
            return len(self._queues.get(model, ()))

    def clear(self) -> None:
        """Forget every queued behaviour and per-model default."""
        with self._lock:
            self._queues.clear()
            self._defaults = {ANY_MODEL: self._defaults[ANY_MODEL]}

    # Shorthands for the common cases; each queues one behaviour and returns ``self``.

    def reply(
        self,
        text: str | None = None,
        *,
        content: Sequence[Mapping[str, Any]] | None = None,
        stop_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        latency: float = 0.0,
        model: str | None = ANY_MODEL,
    ) -> Script:
        """Queue a ``Reply``; build one yourself for the rarer fields."""
        reply = Reply(text, content, stop_reason, usage=usage, latency=latency)
        return self.push(reply, model=model)

    def fail(
        self,
        status: int,
        error_type: str | None = None,
        *,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
        model: str | None = ANY_MODEL,
    ) -> Script:
        """Queue an HTTP error."""
        return self.push(Fail(status, error_type, message, dict(headers or {})), model=model)

    def rate_limited(
        self, retry_after: float | None = 1, *, model: str | None = ANY_MODEL
    ) -> Script:
        """Queue a 429 ``rate_limit_error`` with a ``retry-after`` header (seconds)."""
        headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
        return self.fail(429, headers=headers, model=model)

    def overloaded(self, *, model: str | None = ANY_MODEL) -> Script:
        """Queue a 529 ``overloaded_error``."""
        return self.fail(529, model=model)

    def stream_error(
        self,
        after_events: int = 3,
        error_type: str = "overloaded_error",
        *,
        model: str | None = ANY_MODEL,
    ) -> Script:
        """Queue a 200 stream that breaks with ``event: error`` after ``after_events`` events."""
        return self.push(StreamError(after_events, error_type), model=model)

    def drop(self, after_events: int = 0, *, model: str | None = ANY_MODEL) -> Script:
        """Queue a connection that closes after the headers and ``after_events`` events."""
        return self.push(Drop(after_events), model=model)
