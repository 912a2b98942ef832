"""Routing strategies, one module each, all behind the ``Strategy`` protocol in ``base``.

``FACTORIES`` names every strategy the core builds from the policy. A strategy that needs more
than the core has (the learned one loads a trained model with numpy) is supplied by the layer
above as an extra factory: ``tierwise.learned.pipeline.Router`` adds ``learned``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tierwise.core.errors import ConfigError
from tierwise.core.policy_schema import PolicyConfig, StrategyName
from tierwise.core.strategies.action import ActionStrategy, BackgroundStrategy
from tierwise.core.strategies.base import SoFar, Strategy
from tierwise.core.strategies.brevity import BrevityStrategy
from tierwise.core.strategies.context_size import ContextSizeStrategy
from tierwise.core.strategies.default import DefaultStrategy
from tierwise.core.strategies.keywords import KeywordStrategy
from tierwise.core.strategies.signals import SignalsStrategy
from tierwise.core.strategies.table import DomainStrategy, TaskTypeStrategy, UserTierStrategy

__all__ = ["FACTORIES", "SoFar", "Strategy", "StrategyFactory", "build_strategy"]

StrategyFactory = Callable[[PolicyConfig], Strategy]


FACTORIES: Mapping[str, StrategyFactory] = {
    "task_type": lambda config: TaskTypeStrategy(config.routes),
    "background": lambda config: BackgroundStrategy(config.actions),
    "action": lambda config: ActionStrategy(config.actions, config.routes),
    "domain": lambda config: DomainStrategy(config.domains),
    "keywords": lambda config: KeywordStrategy(config.keywords, config.routes),
    "brevity": lambda config: BrevityStrategy(config.brevity),
    "signals": lambda config: SignalsStrategy(config.signals),
    "user_tier": lambda config: UserTierStrategy(config.user_tiers),
    "context_size": lambda config: ContextSizeStrategy(config.context),
    "default": lambda config: DefaultStrategy(config.tiers.default),
}


def build_strategy(
    name: StrategyName, config: PolicyConfig, factories: Mapping[str, StrategyFactory] = FACTORIES
) -> Strategy:
    """The strategy called ``name``, configured from the policy."""
    factory = factories.get(name)
    if factory is None:
        raise ConfigError(
            f"strategies: {name!r} is not available to this router "
            "(use tierwise.Router, which has every strategy the policy file can name)"
        )
    return factory(config)
