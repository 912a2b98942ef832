"""The router with every strategy a policy file can name, the learned one included.

The core's ``Router`` builds the strategies that need nothing but the policy. The learned
strategy needs a trained router file and numpy, so it lives here, one layer up, and this
``Router`` adds it. ``tierwise.Router`` is this class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from tierwise.core import router
from tierwise.core.strategies import FACTORIES, StrategyFactory
from tierwise.learned.strategy import LearnedStrategy

__all__ = ["DEFAULT_MAX_TOKENS", "Router"]

DEFAULT_MAX_TOKENS = router.DEFAULT_MAX_TOKENS


class Router(router.Router):
    """Decides which model serves a request, without any network call."""

    factories: ClassVar[Mapping[str, StrategyFactory]] = {
        **FACTORIES,
        "learned": lambda config: LearnedStrategy.from_config(config.learned),
    }
