"""``tierwise replay``: re-decide logged requests with another policy, without calling any API.

    replay_store(store, policy, since=...)  → ReplayReport (tier mix, cost and expected quality,
                                              before and after, per task type)
    RoutingInputs / Vocabulary              → what a record keeps so replay is faithful

``inputs`` is imported by the request path (``dispatch``) and stays light; the rest is loaded
lazily, when a replay actually runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "RoutingInputs": "tierwise.messages.inputs",
    "Vocabulary": "tierwise.messages.inputs",
    "Replayed": "tierwise.analysis.replay.engine",
    "Replayer": "tierwise.analysis.replay.engine",
    "ReplayReport": "tierwise.analysis.replay.summary",
    "replay_store": "tierwise.analysis.replay.summary",
}

__all__ = ["ReplayReport", "Replayed", "Replayer", "RoutingInputs", "Vocabulary", "replay_store"]

if TYPE_CHECKING:
    from tierwise.analysis.replay.engine import Replayed, Replayer
    from tierwise.analysis.replay.summary import ReplayReport, replay_store
    from tierwise.messages.inputs import RoutingInputs, Vocabulary


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.analysis.replay' has no attribute {name!r}")
    return getattr(import_module(module), name)
