"""``GET /v1/models`` in Anthropic's shape: the routing aliases first, then the tier models.

Served from the policy and the catalog, without calling upstream: Claude Code calls this at
start-up (gateway model discovery) and an outage upstream should not hide the aliases. The
aliases come first with the display name "tierwise: auto-routed", then each enabled tier's
model, cheapest tier first. Pagination (``limit``, ``after_id``, ``before_id``) follows the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from tierwise.core.catalog import Lifecycle, ModelSpec
from tierwise.core.policy import Policy

ALIAS_DISPLAY_NAME = "tierwise: auto-routed"
EPOCH = "1970-01-01T00:00:00Z"  # the API's own value when a release date is unknown
DEFAULT_LIMIT = 20


def model_infos(policy: Policy) -> list[dict[str, Any]]:
    """Every ``ModelInfo`` the proxy lists, in order."""
    specs = [policy.model_for(tier) for tier in policy.ladder]
    released = [spec.released for spec in specs if spec.released is not None]
    alias_info = {
        "type": "model",
        "display_name": ALIAS_DISPLAY_NAME,
        "created_at": _stamp(max(released)) if released else EPOCH,
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "line": None,
        "max_input_tokens": max(spec.context_window for spec in specs),
        "max_tokens": max(spec.max_output for spec in specs),
        "capabilities": None,
    }
    infos = [{"id": alias, **alias_info} for alias in policy.config.aliases]
    seen = set(policy.config.aliases)
    for spec in specs:
        if spec.id not in seen:
            seen.add(spec.id)
            infos.append(_info(spec))
    return infos


def model_page(infos: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    """One page of ``infos`` for ``limit`` (1–1000), ``after_id`` and ``before_id``."""
    try:
        limit = min(max(int(query.get("limit", DEFAULT_LIMIT)), 1), 1000)
    except ValueError:
        limit = DEFAULT_LIMIT
    ids = [info["id"] for info in infos]
    start, end = 0, len(ids)
    if query.get("after_id") in ids:
        start = ids.index(query["after_id"]) + 1
    if query.get("before_id") in ids:
        end = ids.index(query["before_id"])
    window = infos[start:end]
    backwards = "before_id" in query and "after_id" not in query
    page = window[-limit:] if backwards else window[:limit]
    return {
        "data": page,
        "has_more": len(page) < len(window),
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }


def _info(spec: ModelSpec) -> dict[str, Any]:
    lifecycle = "active" if spec.lifecycle is Lifecycle.LEGACY else spec.lifecycle.value
    return {
        "id": spec.id,
        "type": "model",
        "display_name": spec.display_name,
        "created_at": _stamp(spec.released) if spec.released else EPOCH,
        "lifecycle": lifecycle,
        "deprecated_at": _stamp(spec.deprecated_at) if spec.deprecated_at else None,
        "retires_at": _stamp(spec.retires_at) if spec.retires_at else None,
        "line": spec.line.value,
        "max_input_tokens": spec.context_window,
        "max_tokens": spec.max_output,
        "capabilities": None,
    }


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
