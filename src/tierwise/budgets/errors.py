"""The error a spent budget raises, before any model is called."""

from __future__ import annotations

from datetime import datetime

from tierwise.budgets.steps import Standing
from tierwise.core.errors import TierwiseError


class BudgetExceededError(TierwiseError):
    """A caller's or user's monthly budget is spent: the request is refused until ``resets_at``.

    The proxy answers it as HTTP 429 ``rate_limit_error`` with ``retry-after``; the library
    client raises it as ``anthropic.RateLimitError`` (see ``tierwise.budgets.sdk``).
    """

    def __init__(
        self, standing: Standing, resets_at: datetime, now: datetime, detail: str = ""
    ) -> None:
        self.standing = standing
        self.resets_at = resets_at
        self.retry_after = max(1, int((resets_at - now).total_seconds() + 0.999))
        when = resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        super().__init__(
            f"tierwise budget exhausted: {standing.describe()}{detail}; it resets at {when} "
            f"(in {self.retry_after} s)"
        )

    @property
    def message(self) -> str:
        """The text shown to the caller."""
        return str(self.args[0])
