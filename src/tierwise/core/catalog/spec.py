"""The validated shape of one catalog entry: a model, its price sheets and its lifecycle.

Prices are ``Decimal`` or ``None``; ``None`` means *unknown*, and unknown stays unknown: pricing
refuses to use it rather than guess. Validation lives here so that a bad file fails at load time
with the field's name, not later inside a cost computation.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tierwise.core.tiers import Tier

PriceLine = Literal["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"]
"""The five token lines Anthropic bills, each in USD per million tokens."""

UNKNOWN = "unknown"
"""The marker a catalog file uses for a price nobody has published."""


def _price(value: object) -> Decimal | None:
    """Parse a price exactly: ints, decimal strings and ``Decimal``; floats via ``str``."""
    if value is None or value == UNKNOWN:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f'a price must be a number or "{UNKNOWN}", not {value!r}')
    try:
        price = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f'a price must be a number or "{UNKNOWN}", not {value!r}') from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"a price must be finite and not negative, not {value!r}")
    return price


def _multiplier(value: object) -> Decimal:
    """A positive exact factor, such as the batch discount."""
    factor = _price(value)
    if factor is None or factor <= 0:
        raise ValueError(f"a multiplier must be a positive number, not {value!r}")
    return factor


Price = Annotated[Decimal | None, BeforeValidator(_price)]
Multiplier = Annotated[Decimal, BeforeValidator(_multiplier)]
TokenCount = Annotated[int, Field(gt=0, strict=True)]
ModelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceSheet(_Frozen):
    """One set of rates, USD per million tokens; ``None`` marks an unknown price."""

    input: Price = None
    output: Price = None
    cache_write_5m: Price = None
    cache_write_1h: Price = None
    cache_read: Price = None

    def rate(self, line: PriceLine) -> Decimal | None:
        """The rate for ``line``, or ``None`` if it is unknown."""
        value: Decimal | None = getattr(self, line)
        return value


class LongPromptTier(_Frozen):
    """A prompt-length tier: above the threshold the *whole* request moves to these prices.

    The prompt is input + cache writes + cache reads; output is repriced too (Haiku 5.5).
    """

    threshold_tokens: TokenCount
    prices: PriceSheet


class Lifecycle(StrEnum):
    """Where a model is in its life; ``legacy`` is still served, just superseded."""

    ACTIVE = "active"
    LEGACY = "legacy"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class ModelSpec(_Frozen):
    """Everything tierwise knows about one model id."""

    id: ModelId
    line: Tier
    display_name: str = Field(min_length=1)
    context_window: TokenCount
    max_output: TokenCount
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    released: date | None = None
    deprecated_at: date | None = None
    retires_at: date | None = None
    aliases: tuple[ModelId, ...] = ()
    source: str = ""
    prices: PriceSheet
    long_prompt: LongPromptTier | None = None
    fast: PriceSheet | None = None

    def is_usable_on(self, day: date) -> bool:
        """Whether the API still serves this model on ``day`` (the date wins over ``lifecycle``)."""
        if self.retires_at is not None:
            return day < self.retires_at
        return self.lifecycle is not Lifecycle.RETIRED

    def lifecycle_warning(self, today: date) -> str | None:
        """A sentence to show when a configured model is retired or on its way out, or ``None``."""
        if not self.is_usable_on(today):
            when = f" on {self.retires_at.isoformat()}" if self.retires_at else ""
            return f"{self.id} was retired{when}; requests to it will fail"
        deprecated = self.deprecated_at is not None and today >= self.deprecated_at
        if deprecated or self.lifecycle is Lifecycle.DEPRECATED or self.retires_at is not None:
            when = f"; it retires on {self.retires_at.isoformat()}" if self.retires_at else ""
            return f"{self.id} is deprecated{when}"
        return None


class CatalogSettings(_Frozen):
    """Rules that apply to every model: the batch discount and the US-only-inference premium."""

    version: str = ""
    batch_multiplier: Multiplier
    us_geo_multiplier: Multiplier
