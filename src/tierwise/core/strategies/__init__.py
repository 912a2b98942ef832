"""Routing strategies, one module each, all behind the ``Strategy`` protocol in ``base``."""

from __future__ import annotations

from tierwise.core.policy_schema import PolicyConfig, StrategyName
from tierwise.core.strategies.base import SoFar, Strategy
from tierwise.core.strategies.brevity import BrevityStrategy
from tierwise.core.strategies.context_size import ContextSizeStrategy
from tierwise.core.strategies.default import DefaultStrategy
from tierwise.core.strategies.keywords import KeywordStrategy
from tierwise.core.strategies.signals import SignalsStrategy
from tierwise.core.strategies.table import DomainStrategy, TaskTypeStrategy, UserTierStrategy
from tierwise.learned.strategy import LearnedStrategy

__all__ = ["SoFar", "Strategy", "build_strategy"]


def build_strategy(name: StrategyName, config: PolicyConfig) -> Strategy:
    """The strategy called ``name``, configured from the policy."""
    match name:
        case "task_type":
            return TaskTypeStrategy(config.routes)
        case "domain":
            return DomainStrategy(config.domains)
        case "keywords":
            return KeywordStrategy(config.keywords, config.routes)
        case "brevity":
            return BrevityStrategy(config.brevity)
        case "signals":
            return SignalsStrategy(config.signals)
        case "user_tier":
            return UserTierStrategy(config.user_tiers)
        case "context_size":
            return ContextSizeStrategy(config.context)
        case "default":
            return DefaultStrategy(config.tiers.default)
        case "learned":
            return LearnedStrategy.from_config(config.learned)
