"""A bounded LRU of classifier answers, keyed by a hash of the judged text (never the text)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


def text_key(text: str) -> str:
    """The cache key of ``text``: its SHA-256, so no prompt is kept in memory as a key."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class LruCache(Generic[V]):
    """At most ``size`` entries (0: keeps nothing); thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
