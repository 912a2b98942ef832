"""What a caller tells routing besides the prompt (hints), and reasons made safe for a header.

Hints ride as ``x-tierwise-*`` headers or ``tierwise_*`` metadata keys; the metadata keys never
reach the upstream (the API accepts only ``metadata.user_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HINT_HEADERS = ("x-tierwise-task-type", "x-tierwise-domain", "x-tierwise-user-tier")
HINT_METADATA_KEYS = ("tierwise_task_type", "tierwise_domain", "tierwise_user_tier")
HINT_METADATA_PREFIX = "tierwise_"  # every metadata key with it is removed before sending
REASON_LIMIT = 200
_ASCII = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "→": "->",
        "←": "<-",
        "…": "...",
        "≥": ">=",
        "≤": "<=",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "×": "x",
        **{chr(code): " " for code in (*range(32), 127)},
    }
)


@dataclass(frozen=True, slots=True)
class Hints:
    """What the caller tells routing besides the prompt: a task type, a domain, a user tier.

    Sent as headers (``x-tierwise-task-type``, ``x-tierwise-domain``, ``x-tierwise-user-tier``)
    or, for clients that cannot set headers, as ``metadata`` keys of the body
    (``tierwise_task_type``, ``tierwise_domain``, ``tierwise_user_tier``). Headers win. The
    metadata keys are removed before the request goes upstream (the API accepts only
    ``metadata.user_id``).
    """

    task_type: str | None = None
    domain: str | None = None
    user_tier: str | None = None

    @classmethod
    def from_request(cls, headers: Mapping[str, str], body: Mapping[str, Any]) -> Hints:
        """The hints of one request (header names in any case)."""
        metadata = body.get("metadata")
        if not isinstance(metadata, Mapping):
            metadata = {}
        values = [
            _header(headers, name) or _text(metadata.get(key))
            for name, key in zip(HINT_HEADERS, HINT_METADATA_KEYS, strict=True)
        ]
        return cls(*values)


def without_hint_metadata(body: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``body`` without tierwise's ``metadata`` keys (dropping an emptied
    ``metadata``): the API accepts only ``metadata.user_id``."""
    out = dict(body)
    metadata = out.get("metadata")
    if isinstance(metadata, Mapping) and any(
        isinstance(key, str) and key.startswith(HINT_METADATA_PREFIX) for key in metadata
    ):
        kept = {k: v for k, v in metadata.items() if not str(k).startswith(HINT_METADATA_PREFIX)}
        if kept:
            out["metadata"] = kept
        else:
            del out["metadata"]
    return out


def header_safe(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` as one line of printable ASCII, at most ``limit`` characters (for a header)."""
    line = " ".join(text.translate(_ASCII).encode("ascii", "replace").decode("ascii").split())
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == name:
                value = candidate
                break
    return _text(value)


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
