"""The cost calculator: what a workload costs a month, routed and unrouted.

A workload is requests per day with average prompt and answer sizes, the share of prompt
tokens served from the prompt cache and the share of requests sent through the Batch API.
It is priced on each tier's model and blended by a tier mix (given, or measured by routing
sample prompts through the policy). Cache writes are not modelled: the cached share is priced
as cache reads, which is close for long-lived prefixes and optimistic for short ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tierwise.core.errors import InputError
from tierwise.core.policy import Policy
from tierwise.core.pricing import cost
from tierwise.core.tiers import Tier
from tierwise.core.usage import Usage

DAYS_PER_MONTH = Decimal("30.4")  # 365 / 12, rounded
MANUAL_SELECTION_ENOUGH_USD = Decimal(100)
ROUTER_PAYS_OFF_USD = Decimal(500)


@dataclass(frozen=True)
class Workload:
    """An average request and how many of them a day."""

    requests_per_day: Decimal
    input_tokens: int
    output_tokens: int
    cache_hit_share: Decimal = Decimal(0)
    batch_share: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        rate = self.requests_per_day
        if not rate.is_finite() or rate < 0:
            raise InputError(f"requests per day must be finite and not negative, got {rate}")
        if self.input_tokens < 0 or self.output_tokens < 0:
            raise InputError("token counts must not be negative")
        for name, share in (
            ("cache-hit share", self.cache_hit_share),
            ("batch share", self.batch_share),
        ):
            if not share.is_finite() or not 0 <= share <= 1:
                raise InputError(f"{name} must be between 0 and 1, got {share}")


@dataclass(frozen=True)
class MonthlyEstimate:
    """Monthly spend routed by a tier mix, against sending everything to one tier."""

    mix: dict[Tier, Decimal]
    routed: Decimal
    per_tier: dict[Tier, Decimal]  # monthly cost if every request went to that tier

    def savings_against(self, tier: Tier) -> Decimal | None:
        """Share saved against sending everything to ``tier``."""
        all_on_tier = self.per_tier[tier]
        return None if all_on_tier == 0 else 1 - self.routed / all_on_tier

    def advice(self, baseline: Tier) -> str:
        """Whether routing is worth building at this spend (the product description's guidance)."""
        spend = self.per_tier[baseline]
        if spend < MANUAL_SELECTION_ENOUGH_USD:
            return (
                f"at about ${spend:,.0f} a month on {baseline.value}, manual model selection is "
                "enough; a router will not pay for its own upkeep"
            )
        saved = spend - self.routed
        if saved <= 0:
            return (
                f"at about ${spend:,.0f} a month on {baseline.value}, this tier mix saves "
                f"nothing against it (routed: ${self.routed:,.0f}); routing does not pay here"
            )
        gain = f"routing saves about ${saved:,.0f} a month ({saved / spend:.0%}) against it"
        if spend >= ROUTER_PAYS_OFF_USD:
            return (
                f"at about ${spend:,.0f} a month on {baseline.value}, {gain}: a routing layer "
                "pays for itself within the first month"
            )
        return (
            f"at about ${spend:,.0f} a month on {baseline.value}, {gain}, which is marginal; "
            "start with the Model Selector and automate as volume grows"
        )


def request_cost(workload: Workload, model: str) -> Decimal:
    """Expected cost of one average request on ``model``, blending cache and batch shares."""
    cached = int(workload.input_tokens * workload.cache_hit_share)
    usage = Usage(
        input_tokens=workload.input_tokens - cached,
        cache_read_tokens=cached,
        output_tokens=workload.output_tokens,
    )
    standard = cost(usage, model).total
    batch = cost(usage, model, batch=True).total
    return standard * (1 - workload.batch_share) + batch * workload.batch_share


def estimate_monthly(
    workload: Workload, mix: dict[Tier, Decimal], policy: Policy
) -> MonthlyEstimate:
    """Monthly cost of ``workload`` routed by ``mix`` (shares adding up to 1)."""
    for tier, share in mix.items():
        if not share.is_finite() or not 0 <= share <= 1:
            raise InputError(f"the share of {tier.value} must be between 0 and 1, got {share}")
    total_share = sum(mix.values(), Decimal(0))
    if not mix or abs(total_share - 1) > Decimal("0.001"):
        raise InputError(f"the tier mix must add up to 1, got {total_share}")
    for tier in mix:
        if tier not in policy.ladder:
            raise InputError(f"tier {tier.value!r} is not enabled in the policy")
    monthly_requests = workload.requests_per_day * DAYS_PER_MONTH
    per_tier = {
        tier: request_cost(workload, policy.model_for(tier).id) * monthly_requests
        for tier in policy.ladder
    }
    routed = sum((per_tier[tier] * share for tier, share in mix.items()), Decimal(0))
    return MonthlyEstimate(mix=mix, routed=routed, per_tier=per_tier)
