"""The Model Selector: a task in, a recommended model with its reason and estimated cost out.

The cost estimate prices the prompt's estimated tokens plus an assumed answer length (by
default the smaller of the route's ``max_tokens`` and ``DEFAULT_OUTPUT_TOKENS``) on the chosen
model and on the baseline (the top tier), so the two figures are directly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tierwise.core.decision import Decision
from tierwise.core.errors import InputError
from tierwise.core.pricing import Cost, cost
from tierwise.core.request import RouteRequest
from tierwise.core.router import Router
from tierwise.core.usage import Usage

DEFAULT_OUTPUT_TOKENS = 1000


@dataclass(frozen=True)
class Recommendation:
    """A decision plus what it is expected to cost against the baseline."""

    decision: Decision
    input_tokens: int
    output_tokens: int
    estimated_cost: Cost
    baseline_cost: Cost

    @property
    def savings_fraction(self) -> Decimal | None:
        """Share of the baseline cost saved; ``None`` when the baseline is free."""
        baseline = self.baseline_cost.total
        return None if baseline == 0 else 1 - self.estimated_cost.total / baseline

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (amounts as numbers of USD, rounded to the micro-dollar)."""
        out = self.decision.as_dict()
        out["input_tokens_estimate"] = self.input_tokens
        out["output_tokens_assumed"] = self.output_tokens
        out["estimated_cost_usd"] = _usd_number(self.estimated_cost.total)
        out["baseline_cost_usd"] = _usd_number(self.baseline_cost.total)
        fraction = self.savings_fraction
        out["savings_fraction"] = None if fraction is None else round(float(fraction), 4)
        return out


def recommend(
    request: RouteRequest, *, router: Router | None = None, output_tokens: int | None = None
) -> Recommendation:
    """Route ``request`` and estimate the call's cost on the chosen and the baseline model."""
    router = router or Router()
    if output_tokens is not None and output_tokens < 0:
        raise InputError(f"output_tokens must not be negative, got {output_tokens}")
    decision = router.decide(request)
    input_tokens = decision.context_tokens
    output = (
        output_tokens
        if output_tokens is not None
        else min(decision.max_tokens, DEFAULT_OUTPUT_TOKENS)
    )
    usage = Usage(input_tokens=input_tokens, output_tokens=output)
    return Recommendation(
        decision=decision,
        input_tokens=input_tokens,
        output_tokens=output,
        estimated_cost=cost(usage, decision.model),
        baseline_cost=cost(usage, decision.baseline_model),
    )


def _usd_number(amount: Decimal) -> float:
    return float(amount.quantize(Decimal("0.000001")))
