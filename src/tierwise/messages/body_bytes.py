"""A request body parsed once with the place of each top-level value, to re-encode it cheaply.

Routing changes only top-level fields of a Messages body (``model``, sometimes ``max_tokens``,
``thinking``, ``tool_choice``, the hint metadata), and never mutates what it keeps: a routed body
is a shallow copy whose untouched values are the very objects parsed from the caller's bytes.
Re-encoding all of it with ``json.dumps`` cost 300-860 µs for a Claude Code body of 50-100 KB,
more than the rest of the request's work. ``encode_routed`` writes the changed fields and copies
every untouched value's bytes as the caller sent them.

``parse_with_spans`` walks the top-level object with the standard library's own scanner (the C
one ``json.loads`` uses), so values, errors and duplicate keys (the last one wins) are exactly
``json.loads``'s; anything unusual (a BOM, bytes that are not UTF-8, not an object) is left to
``json.loads`` itself, without spans.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.decoder import WHITESPACE, scanstring  # type: ignore[attr-defined]
from json.scanner import make_scanner
from typing import Any

__all__ = ["BodySpans", "encode_json", "encode_routed", "last_member", "parse_with_spans"]

_scan = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed names the class
_skip = WHITESPACE.match


@dataclass(frozen=True, slots=True)
class BodySpans:
    """Where each top-level value of a body sits in its text (start, end: str offsets)."""

    text: str
    spans: Mapping[str, tuple[int, int]]
    body: Mapping[str, Any]  # the body parsed from ``text``: its values are the ones spanned

    def text_of(self, key: str, value: Any) -> str | None:
        """The caller's JSON text of ``value`` if it is still ``body[key]``, else ``None``."""
        place = self.spans.get(key)
        if place is None or self.body.get(key) is not value:
            return None
        return self.text[place[0] : place[1]]


def parse_with_spans(raw: bytes) -> tuple[Any, BodySpans | None]:
    """``json.loads(raw)``, and for a JSON object the span of each top-level value.

    Raises what ``json.loads`` raises (``ValueError``, ``RecursionError``) for the same input.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return json.loads(raw), None
    if text.startswith("\ufeff"):
        return json.loads(raw), None
    try:
        found = _walk(text)
    except (ValueError, StopIteration, IndexError):
        found = None
    if found is None:
        return json.loads(raw), None  # its answer, or its error, for whatever the walk refused
    body, spans = found
    return body, BodySpans(text, spans, body)


def _walk(text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]]] | None:
    """The top-level object and its value spans; ``None`` when ``text`` is not an object."""
    at = _skip(text, 0).end()
    if text[at : at + 1] != "{":
        return None
    body: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    at = _skip(text, at + 1).end()
    if text[at] == "}":
        return (body, spans) if not text[_skip(text, at + 1).end() :] else None
    while True:
        if text[at] != '"':
            return None
        key, at = scanstring(text, at + 1)
        at = _skip(text, at).end()
        if text[at] != ":":
            return None
        start = _skip(text, at + 1).end()
        value, end = _scan(text, start)
        body[key] = value
        spans[key] = (start, end)
        at = _skip(text, end).end()
        if text[at] == ",":
            at = _skip(text, at + 1).end()
            continue
        if text[at] != "}":
            return None
        trailing = _skip(text, at + 1).end()
        return (body, spans) if trailing == len(text) else None


def encode_json(value: Any) -> bytes:
    """Compact JSON; non-ASCII kept as UTF-8 unless the text holds lone surrogates."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def encode_routed(
    body: Mapping[str, Any],
    original: Mapping[str, Any],
    raw: bytes,
    spans: BodySpans | None,
) -> bytes:
    """The bytes to send for ``body``, a routed copy of ``original`` (parsed from ``raw``).

    Unchanged: ``raw`` itself. Changed: the fields routing set are encoded, and every value that
    is still the object parsed from ``raw`` is copied from the caller's bytes. Without spans,
    the whole body is encoded.
    """
    if body == original:
        return raw
    if spans is None:
        return encode_json(body)
    parts: list[str] = []
    for key, value in body.items():
        name = json.dumps(key, ensure_ascii=False)
        kept = spans.text_of(key, value) if original.get(key) is value else None
        if kept is not None:
            parts.append(f"{name}:{kept}")
        else:
            parts.append(f"{name}:{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}")
    try:
        return ("{" + ",".join(parts) + "}").encode("utf-8")
    except UnicodeEncodeError:  # a changed value holds a lone surrogate
        return encode_json(body)


def last_member(raw: bytes, key: str) -> Any:
    """``json.loads(raw)[key]`` for a JSON object whose last member is ``key``, read from the
    end: a message's ``usage`` comes after its content, which may be long. ``KeyError`` when
    the shortcut does not apply (another layout, or not JSON): ask ``json.loads`` then.

    The value found is the top-level one only if nothing but the object's closing brace follows
    it: a nested ``key`` (inside a tool's input, say) is always followed by more closing marks.
    """
    marker = json.dumps(key).encode() + b":"
    at = raw.rfind(marker)
    if at < 0:
        raise KeyError(key)
    try:
        text = raw[at + len(marker) :].decode("utf-8")
        start = _skip(text, 0).end()
        value, end = _scan(text, start)
    except (UnicodeDecodeError, ValueError, StopIteration) as exc:
        raise KeyError(key) from exc
    if text[end:].strip() != "}":
        raise KeyError(key)
    return value
