"""The step logic, the calendar month and the ``[budgets]`` section's validation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierwise.budgets import BudgetsConfig, BudgetStep, assess
from tierwise.budgets.steps import month_of, next_month_start
from tierwise.core.budget_config import to_micro
from tierwise.core.errors import PolicyError
from tierwise.core.policy import load_policy
from tierwise.core.tiers import Tier

STEPS = BudgetsConfig().steps  # the defaults: sonnet from 80 %, haiku from 95 %
LIMIT = to_micro(10.0)


@pytest.mark.parametrize(
    ("spent_usd", "ceiling", "refused"),
    [
        (0.0, None, False),
        (7.99, None, False),
        (8.0, Tier.SONNET, False),  # a step applies from its 'at' on
        (9.49, Tier.SONNET, False),
        (9.5, Tier.HAIKU, False),
        (9.999999, Tier.HAIKU, False),
        (10.0, Tier.HAIKU, True),  # the hard cap is 100 %
        (25.0, Tier.HAIKU, True),
    ],
)
def test_the_ceiling_drops_step_by_step_and_the_cap_refuses(
    spent_usd: float, ceiling: Tier | None, refused: bool
) -> None:
    standing = assess("caller", "ci", to_micro(spent_usd), LIMIT, STEPS)
    assert standing.ceiling == ceiling
    assert standing.refused is refused


def test_the_highest_step_reached_wins_and_never_raises_the_ceiling() -> None:
    steps = [BudgetStep(at=0.5, ceiling=Tier.OPUS), BudgetStep(at=0.7, ceiling=Tier.HAIKU)]
    assert assess("user", "u", to_micro(6.0), LIMIT, steps).ceiling == Tier.OPUS
    assert assess("user", "u", to_micro(7.5), LIMIT, steps).ceiling == Tier.HAIKU


def test_the_description_names_the_budget() -> None:
    standing = assess("caller", "ci", to_micro(8.2), LIMIT, STEPS)
    assert standing.describe() == "caller 'ci' has spent 82% ($8.20) of its $10.00 monthly budget"


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        (datetime(2026, 11, 17, 9, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_budgets_reset_on_the_first_of_the_month_utc(now: datetime, reset: datetime) -> None:
    assert next_month_start(month_of(now)) == reset


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text('extends = "default"\n' + text)
    return path


def test_a_budgets_section_loads(tmp_path: Path) -> None:
    policy = load_policy(
        _policy(
            tmp_path,
            "[budgets]\nsteps = [{at = 0.5, ceiling = 'sonnet'}]\nrefresh_seconds = 2\n"
            "[budgets.callers]\ndefault_usd = 5\nlimits = {ci = 1.5}\n"
            "[budgets.users]\nlimits = {acme = 200}\n",
        )
    )
    budgets = policy.config.budgets
    assert budgets.enabled
    assert budgets.callers.limit_micro("ci") == 1_500_000
    assert budgets.callers.limit_micro("anyone") == 5_000_000
    assert budgets.users.limit_micro("anyone") is None
    assert budgets.steps == [BudgetStep(at=0.5, ceiling=Tier.SONNET)]


def test_no_budgets_by_default() -> None:
    assert not load_policy().config.budgets.enabled


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[budgets.callers]\nlimits = {ci = -1}\n", "budgets.callers.limits.ci"),
        ("[budgets.users]\ndefault_usd = 0\n", "budgets.users.default_usd"),
        ("[budgets]\nsteps = [{at = 1.2, ceiling = 'haiku'}]\n", "budgets.steps.0.at"),
        ("[budgets]\nsteps = [{at = 0.5, ceiling = 'tiny'}]\n", "budgets.steps.0.ceiling"),
        (
            "[budgets]\nsteps = [{at = 0.9, ceiling = 'haiku'}, {at = 0.8, ceiling = 'haiku'}]\n",
            "budgets.steps: steps must be in increasing order",
        ),
        (
            "[budgets]\nsteps = [{at = 0.8, ceiling = 'haiku'}, {at = 0.9, ceiling = 'opus'}]\n",
            "budgets.steps: a later step must not raise the ceiling",
        ),
        ("[budgets]\nrefresh_seconds = 0\n", "budgets.refresh_seconds"),
        ("[budgets.caller]\ndefault_usd = 5\n", "budgets.caller"),  # a typo is an error
    ],
)
def test_invalid_budgets_fail_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(PolicyError) as failure:
        load_policy(_policy(tmp_path, text))
    assert field in str(failure.value)
