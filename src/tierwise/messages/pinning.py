"""Conversation pinning: keep a conversation on the model that served it when a switch would cost.

Prompt caches are per model, and thinking blocks carry signatures that only the model that wrote
them (and a few others) can read; switching models mid-conversation rewrites the whole cache and
drops or rejects the reasoning (reference §3). So the router remembers which model served each
conversation, and a later turn stays there while its history carries something a switch would
break. A conversation with neither thinking blocks nor cache breakpoints may switch freely: a
switch costs it nothing.

A conversation has no id on the wire, so its key is derived from what does not change between
its turns: the system prompt and the first user turn (namespaced by ``metadata.user_id`` when
the caller sends one). Cache breakpoints move from turn to turn, so ``cache_control`` markers are
left out of the key.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from tierwise.messages.body_bytes import BodySpans
from tierwise.messages.expiring import ExpiringLRU

DEFAULT_MAX_KEYS = 100_000
DEFAULT_TTL_SECONDS = 3600.0
_THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_SEPARATORS = (",", ":")


def conversation_key(body: Mapping[str, Any], spans: BodySpans | None = None) -> str:
    """A stable 32-hex-digit key for the conversation a Messages body belongs to.

    Same system prompt + same first user turn (+ same ``metadata.user_id``) = same key, however
    many turns follow and wherever the cache breakpoints sit. With ``spans`` (the proxy's), the
    system prompt's canonical form is looked up by the text it arrived as: an agent sends the
    same 20 KB prompt every turn, and encoding it canonically was a tenth of the request's work.
    """
    digest = hashlib.blake2b(digest_size=16)
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    if isinstance(user_id, str) and user_id:
        digest.update(b"user\x00" + user_id.encode("utf-8", "replace") + b"\x00")
    system = body.get("system")
    arrived = spans.text_of("system", system) if spans is not None else None
    canonical = _canonical(system) if arrived is None else _canonical_of_text(arrived)
    digest.update(b"system\x00" + canonical + b"\x00first\x00")
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping) and message.get("role") == "user":
                digest.update(_canonical(message.get("content")))
                break
    return digest.hexdigest()


def needs_pinning(body: Mapping[str, Any], *, breakpoints: bool = True) -> bool:
    """Whether switching this request's model would cost: cache breakpoints or signed history.

    True when the request sets top-level ``cache_control``, when any system block, tool or
    message block carries a ``cache_control`` breakpoint, or when the history (the messages
    before the latest user turn) replays ``thinking`` / ``redacted_thinking`` blocks.
    ``breakpoints=False`` asks about signed history only (sessions price the cache instead).
    """
    if breakpoints and body.get("cache_control"):
        return True
    for field in ("system", "tools") if breakpoints else ():
        items = body.get(field)
        if isinstance(items, list) and any(
            isinstance(item, Mapping) and item.get("cache_control") for item in items
        ):
            return True
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    latest_user = _latest_user_index(messages)
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, Mapping):
                continue
            if breakpoints and block.get("cache_control"):
                return True
            if index < latest_user and block.get("type") in _THINKING_BLOCKS:
                return True
    return False


class ConversationPins:
    """Which model served each conversation: a bounded, thread-safe LRU with a sliding TTL
    (``ExpiringLRU``): reading a pin refreshes it. ``clock`` is injectable for tests."""

    def __init__(
        self,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pins: ExpiringLRU[str] = ExpiringLRU(max_keys, ttl_seconds, clock)
        self.max_keys = max_keys
        self.ttl_seconds = ttl_seconds

    def get(self, key: str) -> str | None:
        """The model pinned for ``key``, or ``None`` (never pinned, evicted or expired)."""
        return self._pins.get(key)

    def pin(self, key: str, model: str) -> None:
        """Record that ``model`` served the conversation ``key`` (replacing any earlier pin)."""
        self._pins.put(key, model)

    def forget(self, key: str) -> None:
        """Drop the pin for ``key``, if any."""
        self._pins.pop(key)

    def clear(self) -> None:
        """Drop every pin."""
        self._pins.clear()

    def __len__(self) -> int:
        return len(self._pins)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __repr__(self) -> str:
        return f"<ConversationPins {len(self)}/{self.max_keys}, ttl {self.ttl_seconds:g}s>"


def _latest_user_index(messages: list[Any]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, Mapping) and message.get("role") == "user":
            return index
    return len(messages)


@lru_cache(maxsize=64)
def _canonical_of_text(text: str) -> bytes:
    """``_canonical`` of the value ``text`` encodes (a pure function of the text: cached)."""
    return _canonical(json.loads(text))


def _canonical(content: Any) -> bytes:
    """Content as canonical JSON: a string equals one text block; breakpoints are ignored."""
    if content is None:
        return b"null"
    if isinstance(content, str):
        blocks: Any = [{"type": "text", "text": content}]
    elif isinstance(content, list):
        blocks = [
            {k: v for k, v in block.items() if k != "cache_control"}
            if isinstance(block, Mapping)
            else block
            for block in content
        ]
    else:
        blocks = content
    text = json.dumps(
        blocks, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return text.encode("utf-8", "replace")
