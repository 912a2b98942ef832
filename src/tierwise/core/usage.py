"""Token usage as Anthropic bills it, read from the API's ``usage`` object in any of its forms.

Validation happens here, once: every count is a non-negative ``int``, so pricing never has to
wonder whether a count is a float, a bool or missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from tierwise.core.errors import InvalidUsageError


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one request, split the way they are billed.

    ``input_tokens`` are the uncached prompt tokens only; ``output_tokens`` include thinking;
    ``thinking_tokens`` is informational (already inside ``output_tokens``).
    """

    input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0

    def __post_init__(self) -> None:
        for item in fields(self):
            _count(item.name, getattr(self, item.name))

    @property
    def prompt_tokens(self) -> int:
        """Everything the model read: uncached input, cache writes and cache reads."""
        writes = self.cache_write_5m_tokens + self.cache_write_1h_tokens
        return self.input_tokens + writes + self.cache_read_tokens

    def __add__(self, other: Usage) -> Usage:
        """The sum of two attempts' usage, line by line."""
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @classmethod
    def from_api(cls, usage: Mapping[str, object] | object) -> Usage:
        """Read an API ``usage``: wire JSON (a dict) or the SDK's ``Usage``/``MessageDeltaUsage``.

        Cache writes are split by TTL from ``cache_creation``; when only the older total
        ``cache_creation_input_tokens`` is present, all writes are taken as 5-minute writes (the
        API's default TTL; 1-hour writes reported that way are under-priced). Missing counts are
        zero. For a stream, pass the final ``message_delta`` usage: its counts are cumulative.
        """
        if usage is None:
            raise InvalidUsageError("usage is missing")
        creation = _get(usage, "cache_creation")
        if creation is not None:
            write_5m = _field(creation, "ephemeral_5m_input_tokens")
            write_1h = _field(creation, "ephemeral_1h_input_tokens")
        else:
            write_5m = _field(usage, "cache_creation_input_tokens")
            write_1h = 0
        details = _get(usage, "output_tokens_details")
        return cls(
            input_tokens=_field(usage, "input_tokens"),
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            cache_read_tokens=_field(usage, "cache_read_input_tokens"),
            output_tokens=_field(usage, "output_tokens"),
            thinking_tokens=_field(details, "thinking_tokens") if details is not None else 0,
        )


def _field(obj: object, name: str) -> int:
    """The token count ``obj`` reports under ``name``."""
    return _count(name, _get(obj, name))


def _get(obj: object, name: str) -> object:
    """A field of a dict or an attribute of an object (``None`` if absent)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(name: str, value: object) -> int:
    """A token count: a non-negative ``int`` (not a bool); ``None`` counts as zero."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidUsageError(f"{name} must be an integer token count, not {value!r}")
    if value < 0:
        raise InvalidUsageError(f"{name} must not be negative, not {value}")
    return value
