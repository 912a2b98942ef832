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
    "Action": "tierwise.decision",
    "Decision": "tierwise.decision",
    "RouteRequest": "tierwise.decision",
    "Verdict": "tierwise.decision",
    "Tier": "tierwise.tiers",
    "TierwiseError": "tierwise.errors",
    "Router": "tierwise.router",
    "Policy": "tierwise.policy",
    "load_policy": "tierwise.policy",
    "recommend": "tierwise.selector",
    "Recommendation": "tierwise.selector",
    "Usage": "tierwise.usage",
    "Cost": "tierwise.pricing",
    "cost": "tierwise.pricing",
    "baseline_cost": "tierwise.pricing",
    "savings": "tierwise.pricing",
    "Catalog": "tierwise.catalog",
    "load_catalog": "tierwise.catalog",
    "default_catalog": "tierwise.catalog",
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
    from tierwise.catalog import Catalog, default_catalog, load_catalog
    from tierwise.client import Anthropic, AsyncAnthropic
    from tierwise.decision import Action, Decision, RouteRequest, Verdict
    from tierwise.errors import TierwiseError
    from tierwise.orchestration import aorchestrate, orchestrate
    from tierwise.policy import Policy, load_policy
    from tierwise.pricing import Cost, baseline_cost, cost, savings
    from tierwise.router import Router
    from tierwise.selector import Recommendation, recommend
    from tierwise.tiers import Tier
    from tierwise.usage import Usage


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise' has no attribute {name!r}")
    return getattr(import_module(module), name)
