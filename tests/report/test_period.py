"""``--since``/``--until`` text, the covered days and the percentile interpolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tierwise.analysis.report import parse_since
from tierwise.analysis.report.percentiles import interpolate
from tierwise.analysis.report.period import covered_days
from tierwise.core.errors import InputError

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW - timedelta(days=30)),
        ("12h", NOW - timedelta(hours=12)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(days=14)),
        (" 1.5D ", NOW - timedelta(hours=36)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:30", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        ("2026-11-01T09:30+02:00", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    parsed = parse_since(text, NOW)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_parse_since_counts_back_from_an_aware_now_in_any_zone() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert parse_since("1h", local) == NOW - timedelta(hours=1)


@pytest.mark.parametrize("text", ["3x", "d", "-2d", "0d", "yesterday", "2026-13-01", ""])
def test_bad_since_names_the_option(text: str) -> None:
    with pytest.raises(InputError, match=r"^--until: "):
        parse_since(text, NOW, option="--until")


def test_covered_days() -> None:
    first = NOW - timedelta(days=3)
    assert covered_days(NOW - timedelta(days=30), first, NOW) == 3.0  # records began later
    assert covered_days(NOW - timedelta(days=1), first, NOW) == 1.0  # since cuts in
    assert covered_days(None, NOW - timedelta(minutes=1), NOW) == pytest.approx(1 / 24)
    assert covered_days(NOW - timedelta(days=30), None, NOW) is None


def test_interpolate_like_percentile_cont() -> None:
    assert interpolate([], 0.5) is None
    assert interpolate([7.0], 0.99) == 7.0
    assert interpolate([1.0, 2.0], 0.5) == 1.5
    values = [float(v) for v in range(1, 101)]  # 1..100: position q * 99
    assert interpolate(values, 0.5) == pytest.approx(50.5)
    assert interpolate(values, 0.95) == pytest.approx(95.05)
    assert interpolate(values, 0.99) == pytest.approx(99.01)
    assert interpolate(values, 1.0) == 100.0
