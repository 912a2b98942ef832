"""Shadow evaluation: a share of routed requests re-sent to the baseline model, off the request
path and within a budget, and a blind judge's verdict as each one's quality score.

    ShadowWorker.wants(routed) / .offer(outcome, capture)   the request path: never waits
    ShadowWorker.run(upstream, router)     the background loop the proxy's lifespan starts
    shadow_worker(policy, store, key)      the worker a policy asks for, or why it is off
    Ledger(store)                          the stored evaluations and their spend

Names are imported lazily: the proxy imports ``tierwise.serving.shadow.answer`` on its request path,
and the worker imports the proxy's pieces.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Capture": "tierwise.serving.shadow.answer",
    "Judgement": "tierwise.serving.shadow.judge",
    "Ledger": "tierwise.serving.shadow.ledger",
    "ShadowRow": "tierwise.serving.shadow.ledger",
    "ShadowSetup": "tierwise.serving.shadow.setup",
    "ShadowStats": "tierwise.serving.shadow.worker",
    "ShadowWorker": "tierwise.serving.shadow.worker",
    "shadow_worker": "tierwise.serving.shadow.setup",
}

__all__ = [
    "Capture",
    "Judgement",
    "Ledger",
    "ShadowRow",
    "ShadowSetup",
    "ShadowStats",
    "ShadowWorker",
    "shadow_worker",
]

if TYPE_CHECKING:
    from tierwise.serving.shadow.answer import Capture
    from tierwise.serving.shadow.judge import Judgement
    from tierwise.serving.shadow.ledger import Ledger, ShadowRow
    from tierwise.serving.shadow.setup import ShadowSetup, shadow_worker
    from tierwise.serving.shadow.worker import ShadowStats, ShadowWorker


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.serving.shadow' has no attribute {name!r}")
    return getattr(import_module(module), name)
