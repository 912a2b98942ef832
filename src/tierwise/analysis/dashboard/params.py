"""What the dashboard's API accepts, checked before any work: a 400 naming the bad field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tierwise.core.errors import InputError
from tierwise.core.request import RouteRequest
from tierwise.serving.errors import bad_request

DEFAULT_SINCE = "30d"
DEFAULT_BY = "tier"
MAX_RECENT = 500
MAX_TASK_BYTES = 1024 * 1024  # the selector judges a task description, not a whole codebase
_HINTS = ("task_type", "domain", "user_tier")


@dataclass(frozen=True)
class ReportQuery:
    """``GET /dashboard/api/report?since=30d&by=tier&recent=20``."""

    since: datetime | None
    by: str | None
    recent: int

    @classmethod
    def parse(cls, query: Mapping[str, str], now: datetime | None = None) -> ReportQuery:
        """``since``: as ``tierwise report --since`` ("30d", "12h", an ISO date) or ``all``;
        ``by``: one of ``tierwise.analysis.report.BREAKDOWNS`` or ``none``; ``recent``: 0 to 500."""
        from tierwise.analysis.report import BREAKDOWNS, parse_since

        now = now or datetime.now(UTC)
        since_text = query.get("since", DEFAULT_SINCE).strip()
        since: datetime | None = None
        if since_text.lower() != "all":
            try:
                since = parse_since(since_text, now, option="since")
            except InputError as exc:
                raise bad_request(str(exc)) from None
        by_text = query.get("by", DEFAULT_BY).strip().lower()
        if by_text not in (*BREAKDOWNS, "none"):
            choices = ", ".join(BREAKDOWNS)
            raise bad_request(f"by: must be one of {choices} or none, not {by_text!r}")
        recent_text = query.get("recent", "20")
        try:
            recent = int(recent_text)
        except ValueError:
            raise bad_request(f"recent: must be a whole number, not {recent_text!r}") from None
        if not 0 <= recent <= MAX_RECENT:
            raise bad_request(f"recent: must be between 0 and {MAX_RECENT}, not {recent}")
        return cls(since=since, by=None if by_text == "none" else by_text, recent=recent)


def recommend_request(body: bytes) -> RouteRequest:
    """``POST /dashboard/api/recommend`` body: ``{"task": str, "task_type"?, "domain"?,
    "user_tier"?}`` (hints may be null) as the request the router judges."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise bad_request(f"body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad_request("body: must be a JSON object with a 'task' string")
    unknown = sorted(set(data) - {"task", *_HINTS})
    if unknown:
        raise bad_request(f"{unknown[0]}: unknown field (accepted: task, {', '.join(_HINTS)})")
    task = data.get("task")
    if not isinstance(task, str) or not task.strip():
        raise bad_request("task: must be a non-empty string")
    hints: dict[str, str | None] = {}
    for name in _HINTS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise bad_request(f"{name}: must be a string or null")
        hints[name] = value.strip() or None if isinstance(value, str) else None
    return RouteRequest(
        text=task,
        task_type=hints["task_type"],
        domain=hints["domain"],
        user_tier=hints["user_tier"],
    )
