"""Which stretch of time a report covers: ``--since``/``--until`` text → aware UTC datetimes.

A report is about "the last 30 days" far more often than about fixed dates, so a bare duration
(``30d``, ``12h``, ``90m``, ``2w``) counts back from now; an ISO date or time is taken as given
(UTC when it names no zone). The projection needs the days a report really covers, which can be
fewer than asked for: a store that began recording yesterday covers one day, not thirty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tierwise.core.errors import InputError

__all__ = ["MIN_COVERED", "covered_days", "parse_since", "span_days"]

MIN_COVERED = timedelta(hours=1)  # a fresh store still projects (over at least one hour)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([mhdw])", re.IGNORECASE)
_DAY = timedelta(days=1)


def parse_since(text: str, now: datetime, *, option: str = "--since") -> datetime:
    """The moment ``text`` names: a duration before ``now`` or an ISO date/time, in UTC.

    ``option`` names the argument in the error (``InputError``) raised for anything else.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    value = text.strip()
    match = _DURATION.fullmatch(value)
    if match is not None:
        amount = float(match.group(1))
        if amount <= 0:
            raise InputError(f"{option}: the duration must be more than zero, got {text!r}")
        return now.astimezone(UTC) - _UNITS[match.group(2).lower()] * amount
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{option}: {text!r} is neither a duration (30d, 12h, 90m, 2w) "
            "nor an ISO date or time (2026-11-01, 2026-11-01T09:30)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def span_days(start: datetime | None, end: datetime) -> float | None:
    """Days from ``start`` to ``end`` (``None`` without a start)."""
    return None if start is None else (end - start) / _DAY


def covered_days(since: datetime | None, first: datetime | None, until: datetime) -> float | None:
    """Days the records really cover: from the later of ``since`` and the first record to
    ``until``, at least ``MIN_COVERED``; ``None`` when there are no records."""
    if first is None:
        return None
    start = first if since is None else max(since, first)
    return max(until - start, MIN_COVERED) / _DAY
