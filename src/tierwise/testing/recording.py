"""The log of every request the fake server received, for tests to assert on.

A proxy test asks "what reached the upstream?": which model, which headers were forwarded or
stripped, whether the body was changed. Each request is recorded before auth and validation,
so rejected requests are in the log too.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as it arrived. Header names are lower-case; repeated headers are joined."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Any  # the parsed JSON, or None when there was no body or it was not JSON
    raw_body: bytes = field(repr=False)
    time: float  # time.time() on arrival
    request_id: str  # the request-id the fake answered with

    @property
    def model(self) -> str | None:
        """The ``model`` field of a JSON body, if any."""
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None


class RequestLog:
    """A thread-safe, append-only list of ``RecordedRequest`` (``clear()`` empties it).

    ``keep`` bounds it to the most recent requests, for long-running servers (benchmarks).
    """

    def __init__(self, keep: int | None = None) -> None:
        self._lock = threading.Lock()
        self._items: deque[RecordedRequest] = deque(maxlen=keep)

    def append(self, request: RecordedRequest) -> None:
        """Record one request (the server calls this)."""
        with self._lock:
            self._items.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the log so far."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._items.clear()

    def messages(self) -> list[RecordedRequest]:
        """The ``POST /v1/messages`` requests, in order."""
        return [r for r in self.snapshot() if r.method == "POST" and r.path == "/v1/messages"]

    def models(self) -> list[str | None]:
        """The model asked for by each ``/v1/messages`` request, in order."""
        return [r.model for r in self.messages()]

    @property
    def last(self) -> RecordedRequest:
        """The most recent request; ``LookupError`` when there is none."""
        with self._lock:
            if not self._items:
                raise LookupError("the fake Anthropic server has received no request")
            return self._items[-1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._lock:
            return self._items[index]
