"""``GET /v1/models`` in Anthropic's shape, built from a plain list of ids.

Claude Code's gateway discovery reads this shape (``type``, ``display_name``, ``created_at``,
``has_more``, ``first_id``, ``last_id``), so the fake serves it faithfully, with pagination by
``limit``, ``after_id`` and ``before_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

LINES = ("haiku", "sonnet", "opus", "fable", "mythos")
CREATED_AT = "2026-09-01T00:00:00Z"
DEFAULT_LIMIT = 20


def model_info(model_id: str) -> dict[str, Any]:
    """A ``ModelInfo`` for ``model_id``; the line and display name are read from the id."""
    parts = model_id.split("-")
    line = parts[1] if len(parts) > 1 and parts[1] in LINES else None
    version = ".".join(p for p in parts[2:] if re.fullmatch(r"\d{1,2}", p))
    display = f"Claude {line.title()} {version}".strip() if line else model_id
    return {
        "id": model_id,
        "type": "model",
        "display_name": display,
        "created_at": CREATED_AT,
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "line": line,
        "max_input_tokens": 1_000_000,
        "max_tokens": 128_000,
        "capabilities": None,
    }


def model_page(ids: Sequence[str], query: Mapping[str, str]) -> dict[str, Any]:
    """One page of the list, honouring ``limit`` (1–1000), ``after_id`` and ``before_id``."""
    try:
        limit = min(max(int(query.get("limit", DEFAULT_LIMIT)), 1), 1000)
    except ValueError:
        limit = DEFAULT_LIMIT
    start, end = 0, len(ids)
    if query.get("after_id") in ids:
        start = ids.index(query["after_id"]) + 1
    if query.get("before_id") in ids:
        end = ids.index(query["before_id"])
    window = list(ids[start:end])
    page = window[-limit:] if "before_id" in query and "after_id" not in query else window[:limit]
    data = [model_info(model_id) for model_id in page]
    return {
        "data": data,
        "has_more": len(page) < len(window),
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }
