"""How one record travels from the proxy to its writer process: bytes, made cheaply.

A record is its field values (``FIELD_NAMES`` order) and the routing-inputs job. ``marshal``
writes the builtin types they are made of at about half ``pickle``'s cost, on the proxy's event
loop where every microsecond is the caller's; the record's ``datetime`` and ``Decimal`` values,
which marshal does not know, travel as their exact text. Anything else marshal refuses (a value
a custom strategy put in a trace, say) falls back to pickle, so no record is refused for it.
Both ends run the same interpreter (the child is ``sys.executable``), as marshal requires.
"""

from __future__ import annotations

import marshal
import pickle
from datetime import datetime
from decimal import Decimal
from typing import Any

from tierwise.ledger.records import FIELD_NAMES

__all__ = ["pack", "unpack"]

_TIME = FIELD_NAMES.index("time")
_DECIMALS = tuple(
    FIELD_NAMES.index(name)
    for name in ("cost_usd", "baseline_cost_usd", "savings_usd", "routing_cost_usd")
)
_MARSHAL, _PICKLE = b"M", b"P"


def pack(values: tuple[Any, ...], job: Any) -> bytes:
    """The bytes of one record's values and job."""
    flat = list(values)
    when = flat[_TIME]
    if isinstance(when, datetime):
        flat[_TIME] = when.isoformat()
    for index in _DECIMALS:
        amount = flat[index]
        if isinstance(amount, Decimal):
            flat[index] = str(amount)
    try:
        return _MARSHAL + marshal.dumps((flat, job))
    except ValueError:  # a value marshal does not know
        return _PICKLE + pickle.dumps((values, job), protocol=pickle.HIGHEST_PROTOCOL)


def unpack(blob: bytes) -> tuple[list[Any], Any]:
    """``pack``'s values (as a list, ready to adjust) and job."""
    if blob[:1] == _PICKLE:
        values, job = pickle.loads(blob[1:])
        return list(values), job
    flat, job = marshal.loads(blob[1:])
    when = flat[_TIME]
    if isinstance(when, str):
        flat[_TIME] = datetime.fromisoformat(when)
    for index in _DECIMALS:
        amount = flat[index]
        if isinstance(amount, str):
            flat[index] = Decimal(amount)
    return flat, job
