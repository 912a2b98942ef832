"""tierwise: send each Claude request to the cheapest model tier that does it well.

The public API is re-exported here and imported lazily, so ``import tierwise`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Anthropic": "tierwise.client",
    "AsyncAnthropic": "tierwise.client",
    "Action": "tierwise.core.decision",
    "Decision": "tierwise.core.decision",
    "RouteRequest": "tierwise.core.request",
    "Verdict": "tierwise.core.decision",
    "Tier": "tierwise.core.tiers",
    "TierwiseError": "tierwise.core.errors",
    "Router": "tierwise.learned.pipeline",
    "Policy": "tierwise.core.policy",
    "load_policy": "tierwise.core.policy",
    "recommend": "tierwise.core.recommend",
    "Recommendation": "tierwise.core.recommend",
    "Usage": "tierwise.core.usage",
    "Cost": "tierwise.core.pricing",
    "cost": "tierwise.core.pricing",
    "baseline_cost": "tierwise.core.pricing",
    "savings": "tierwise.core.pricing",
    "Catalog": "tierwise.core.catalog",
    "load_catalog": "tierwise.core.catalog",
    "default_catalog": "tierwise.core.catalog",
    "orchestrate": "tierwise.orchestration",
    "aorchestrate": "tierwise.orchestration",
}

__all__ = [
    "Action",
    "Anthropic",
    "AsyncAnthropic",
    "Catalog",
    "Cost",
    "Decision",
    "Policy",
    "Recommendation",
    "RouteRequest",
    "Router",
    "Tier",
    "TierwiseError",
    "Usage",
    "Verdict",
    "aorchestrate",
    "baseline_cost",
    "cost",
    "default_catalog",
    "load_catalog",
    "load_policy",
    "orchestrate",
    "recommend",
    "savings",
]

if TYPE_CHECKING:
    from tierwise.client import Anthropic, AsyncAnthropic
    from tierwise.core.catalog import Catalog, default_catalog, load_catalog
    from tierwise.core.decision import Action, Decision, Verdict
    from tierwise.core.errors import TierwiseError
    from tierwise.core.policy import Policy, load_policy
    from tierwise.core.pricing import Cost, baseline_cost, cost, savings
    from tierwise.core.recommend import Recommendation, recommend
    from tierwise.core.request import RouteRequest
    from tierwise.core.tiers import Tier
    from tierwise.core.usage import Usage
    from tierwise.learned.pipeline import Router
    from tierwise.orchestration import aorchestrate, orchestrate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise' has no attribute {name!r}")
    return getattr(import_module(module), name)
