"""Exact billing: what a request's ``usage`` cost, and what it would have cost on another model.

All arithmetic is ``Decimal`` under a context that traps rounding, so a cost is the exact USD
amount the rates imply; rounding happens only for display (``Cost.usd``) or storage
(``Cost.total_micro_usd``). A price the catalog marks unknown is never guessed: if the usage
needs it, ``UnknownPriceError`` names the model and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, localcontext

from tierwise.core.catalog import Catalog, ModelSpec, PriceLine, PriceSheet, default_catalog
from tierwise.core.errors import UnknownPriceError
from tierwise.core.usage import Usage

__all__ = ["Cost", "Savings", "Usage", "baseline_cost", "cost", "format_usd", "savings"]

_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])
_PER_MILLION = -6  # prices are per million tokens: shift the decimal point six places
_ZERO, _ONE = Decimal(0), Decimal(1)


@dataclass(frozen=True, slots=True)
class Cost:
    """The exact USD cost of one usage on one model, line by line, and the rules that applied."""

    model: str
    input: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    output: Decimal
    long_prompt: bool = False
    batch: bool = False
    us_geo: bool = False
    fast: bool = False
    _total: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # summed once: records, metrics and reports read the total several times per request
        with localcontext(_EXACT):
            lines = self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read
            object.__setattr__(self, "_total", lines + self.output)

    @property
    def total(self) -> Decimal:
        """The exact sum of the lines."""
        return self._total

    @property
    def total_micro_usd(self) -> int:
        """The total in millionths of a dollar, rounded half up (for integer storage)."""
        return int(self._total.scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def usd(self, places: int = 6) -> str:
        """The total for display, e.g. ``$0.012345``."""
        return format_usd(self.total, places)


@dataclass(frozen=True, slots=True)
class Savings:
    """What routing saved against the baseline; negative when the routed model cost more."""

    model: str
    baseline_model: str
    actual: Decimal
    baseline: Decimal
    amount: Decimal
    fraction: Decimal | None  # amount / baseline; None when the baseline cost nothing


def format_usd(amount: Decimal, places: int = 6) -> str:
    """``amount`` as dollars rounded half up to ``places`` decimals: ``$1.50``, ``-$0.25``."""
    rounded = abs(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 and rounded else ""
    return f"{sign}${rounded}"


def cost(
    usage: Usage,
    model: str,
    *,
    batch: bool = False,
    inference_geo: str | None = None,
    speed: str | None = None,
    catalog: Catalog | None = None,
) -> Cost:
    """The exact cost of ``usage`` on ``model``.

    ``batch`` applies the catalog's batch multiplier to every line. ``inference_geo`` is the
    *request* parameter: ``"us"`` applies the US-only multiplier; ``"global"``, ``None`` and any
    other value are billed at standard rates. ``speed`` is ``None``/``"standard"`` or ``"fast"``
    (the model's fast sheet; ``UnknownPriceError`` if it has none).
    """
    cat = catalog if catalog is not None else default_catalog()
    spec = cat.get(model)
    sheet, long_prompt = _sheet(spec, usage, speed)
    us_geo = inference_geo is not None and inference_geo.strip().lower() == "us"

    def line(name: PriceLine, tokens: int) -> Decimal:
        if tokens == 0:
            return _ZERO
        rate = sheet.rate(name)
        if rate is None:
            tier = " fast-mode" if speed == "fast" else " long-prompt" if long_prompt else ""
            raise UnknownPriceError(f"{spec.id}: the{tier} {name} price is unknown in the catalog")
        return (tokens * rate * factor).scaleb(_PER_MILLION)

    # one exact context for every line (entering one per line was half of the work)
    with localcontext(_EXACT):
        factor = cat.batch_multiplier if batch else _ONE
        factor *= cat.us_geo_multiplier if us_geo else 1
        return Cost(
            model=spec.id,
            input=line("input", usage.input_tokens),
            cache_write_5m=line("cache_write_5m", usage.cache_write_5m_tokens),
            cache_write_1h=line("cache_write_1h", usage.cache_write_1h_tokens),
            cache_read=line("cache_read", usage.cache_read_tokens),
            output=line("output", usage.output_tokens),
            long_prompt=long_prompt,
            batch=batch,
            us_geo=us_geo,
            fast=speed == "fast",
        )


def _sheet(spec: ModelSpec, usage: Usage, speed: str | None) -> tuple[PriceSheet, bool]:
    """The price sheet this request is billed at, and whether the long-prompt tier applied."""
    tier = spec.long_prompt
    long_prompt = tier is not None and usage.prompt_tokens > tier.threshold_tokens
    if speed is None or speed == "standard":
        return (tier.prices, True) if tier is not None and long_prompt else (spec.prices, False)
    if speed != "fast":
        raise UnknownPriceError(f"{spec.id}: no prices for speed {speed!r} (standard or fast)")
    if spec.fast is None:
        raise UnknownPriceError(f"{spec.id}: the catalog has no fast-mode prices for this model")
    if long_prompt:
        raise UnknownPriceError(f"{spec.id}: no fast-mode prices for the long-prompt tier")
    return spec.fast, False


def baseline_cost(
    usage: Usage,
    baseline_model: str,
    *,
    batch: bool = False,
    inference_geo: str | None = None,
    speed: str | None = None,
    catalog: Catalog | None = None,
) -> Cost:
    """The same usage priced on ``baseline_model``: the counterfactual savings are measured against.

    An approximation, and a stated one: tokenizers differ across model generations (Opus 4.7 and
    Haiku 5.5 count up to ~30% more tokens for the same text), and another model would have written
    a different number of output tokens. The usage is taken as it was measured.
    """
    return cost(
        usage,
        baseline_model,
        batch=batch,
        inference_geo=inference_geo,
        speed=speed,
        catalog=catalog,
    )


def savings(actual: Cost, baseline: Cost) -> Savings:
    """``baseline - actual`` in USD, and as a fraction of the baseline."""
    with localcontext(_EXACT):
        amount = baseline.total - actual.total
    fraction = amount / baseline.total if baseline.total else None  # a ratio: rounding is fine
    return Savings(
        model=actual.model,
        baseline_model=baseline.model,
        actual=actual.total,
        baseline=baseline.total,
        amount=amount,
        fraction=fraction,
    )
