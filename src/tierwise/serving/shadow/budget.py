"""The shadow budget: what shadow and judge calls may spend per UTC day and calendar month."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tierwise.core.policy_schema import ShadowConfig


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits in micro-dollars; ``None``: no limit for that period."""

    daily_micro: int | None = None
    monthly_micro: int | None = None

    @classmethod
    def from_config(cls, config: ShadowConfig) -> Budget:
        return cls(_micro(config.daily_usd), _micro(config.monthly_usd))

    def exhausted(self, spent_day: int, spent_month: int) -> bool:
        """Whether either period's spend has reached its limit (a zero limit: always)."""
        return (self.daily_micro is not None and spent_day >= self.daily_micro) or (
            self.monthly_micro is not None and spent_month >= self.monthly_micro
        )


def _micro(usd: float | None) -> int | None:
    return None if usd is None else int(Decimal(repr(usd)).scaleb(6))
