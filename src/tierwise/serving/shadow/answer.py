"""The routed answer's text, kept only for sampled requests, from a JSON body or an SSE stream.

The proxy relays bytes and never parses an answer. For a sampled request it keeps a copy: the
whole body of a JSON answer (already in memory), or the event-aligned chunks of a stream as the
relay sends them (appending bytes is all the request path does). Parsing waits for the shadow
worker, off the request path. A stream longer than ``MAX_CAPTURE`` is not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Header = tuple[bytes, bytes]  # an ASGI header (the proxy's type, without importing the proxy)

MAX_CAPTURE = 8 << 20  # bytes of a stream kept for evaluation
_FORWARDED = (b"anthropic-version", b"anthropic-beta")


class Capture:
    """The routed answer of one sampled request, as bytes, and the API headers it was sent with."""

    __slots__ = ("_chunks", "_size", "body", "headers", "overflow")

    def __init__(self, headers: Sequence[Header]) -> None:
        self.headers: list[Header] = [(k, v) for k, v in headers if k in _FORWARDED]
        self.body: bytes | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self.overflow = False

    def keep(self, body: bytes) -> None:
        """A whole JSON answer."""
        self.body = body

    def feed(self, chunk: bytes) -> None:
        """Stream bytes as relayed (cut at event boundaries)."""
        self._size += len(chunk)
        if self._size > MAX_CAPTURE:
            self.overflow, self._chunks = True, []
        elif not self.overflow:
            self._chunks.append(chunk)

    def text(self) -> str | None:
        """The answer as the judge reads it; ``None`` if nothing usable was kept."""
        if self.body is not None:
            try:
                message = json.loads(self.body)
            except ValueError:
                return None
            return render(message.get("content")) if isinstance(message, dict) else None
        if self.overflow or not self._chunks:
            return None
        return render(stream_content(b"".join(self._chunks)))


def stream_content(data: bytes) -> list[dict[str, Any]]:
    """The content blocks an SSE Messages stream builds (text and tool input deltas applied)."""
    blocks: dict[int, dict[str, Any]] = {}
    for payload in _events(data):
        kind = payload.get("type")
        index = payload.get("index")
        if kind == "content_block_start" and isinstance(index, int):
            block = payload.get("content_block")
            if isinstance(block, dict):
                blocks[index] = {**block, "_json": ""}
        elif kind == "content_block_delta" and isinstance(index, int) and index in blocks:
            delta = payload.get("delta")
            if not isinstance(delta, dict):
                continue
            block = blocks[index]
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                block["text"] = str(block.get("text", "")) + delta["text"]
            elif delta.get("type") == "input_json_delta":
                block["_json"] += str(delta.get("partial_json", ""))
    out = []
    for _, block in sorted(blocks.items()):
        raw = block.pop("_json")
        if block.get("type") == "tool_use" and raw:
            try:
                block["input"] = json.loads(raw)
            except ValueError:
                block["input"] = raw
        out.append(block)
    return out


def render(content: Any) -> str | None:
    """Text blocks as they are, tool calls as ``[tool_use NAME] {input}``; thinking left out."""
    if not isinstance(content, list):
        return None
    parts: list[str] = []
    for block in content:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif block.get("type") == "tool_use":
            arguments = json.dumps(block.get("input"), ensure_ascii=False, sort_keys=True)
            parts.append(f"[tool_use {block.get('name')}] {arguments}")
    text = "\n".join(parts)
    return text if text.strip() else None


def _events(data: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        lines = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line[:5] == b"data:"]
        if not lines:
            continue
        try:
            payload = json.loads(b"\n".join(lines))
        except ValueError:
            continue
        if isinstance(payload, dict):
            out.append(payload)
    return out
