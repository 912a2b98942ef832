"""The decision rides on what the SDK returns: ``decision_of``, ``routed_of``, ``report_of``."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from tierwise.core.decision import Decision
from tierwise.escalation.cascade_client import AssistReport
from tierwise.messages.routing import Routed

if TYPE_CHECKING:
    pass


_ATTRIBUTE = "_tierwise_routed"
REPORT = "_tierwise_report"


def decision_of(obj: object) -> Decision | None:
    """The routing decision behind something the client returned (``None``: not routed)."""
    routed = routed_of(obj)
    return routed.decision if routed is not None else None


def routed_of(obj: object) -> Routed | None:
    """The ``Routed`` request behind something the client returned, or ``None``."""
    routed = getattr(obj, _ATTRIBUTE, None)
    if isinstance(routed, Routed):
        return routed
    entry = _REGISTRY.get(id(obj))
    if entry is not None and entry[0]() is obj:
        return entry[1]
    return None


# Objects that refuse new attributes (``__slots__`` without ``__dict__``) are remembered here,
# by id, until they are collected; SDK types take the attribute and never land here.
_REGISTRY: dict[int, tuple[weakref.ref[Any], Routed]] = {}


def attach(obj: object, routed: Routed) -> None:
    try:
        object.__setattr__(obj, _ATTRIBUTE, routed)
    except (AttributeError, TypeError):
        try:
            ref = weakref.ref(obj)
        except TypeError:
            return  # neither an attribute nor a weak reference: nothing safe to do
        key = id(obj)
        _REGISTRY[key] = (ref, routed)
        weakref.finalize(obj, _REGISTRY.pop, key, None)


def report_of(obj: object) -> AssistReport | None:
    """How a message from ``create`` was made: its attempts (escalations included), each
    attempt's usage, cost and verdicts, and the classifier and judge calls; ``None`` for a
    request that needed neither."""
    report = getattr(obj, REPORT, None)
    return report if isinstance(report, AssistReport) else None
