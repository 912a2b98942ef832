"""Money for people: exact micro-dollars from the store shown as USD decimal strings."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")


def usd(micro: int | Decimal | None, *, cents: bool = False) -> str | None:
    """Micro-dollars as a USD decimal string: six places (exact), or cents for projections."""
    if micro is None:
        return None
    amount = Decimal(micro).scaleb(-6).quantize(_CENT if cents else _MICRO, ROUND_HALF_UP)
    return format(amount, "f")
