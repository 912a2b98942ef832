"""A known set of decision records, and what a report over them must say, computed here.

The expected figures are derived from the records themselves (sums of their micro-dollar
columns, counts per tier), never written down as constants, so they hold for any prices in
the catalog. Every record is routed and priced, so every definition of "a task" agrees.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tierwise.core.policy import Policy
from tierwise.core.pricing import cost
from tierwise.core.tiers import Tier
from tierwise.core.usage import Usage
from tierwise.ledger.records import DecisionRecord

# (tier, task type, input tokens, output tokens, reason)
_PLAN: tuple[tuple[Tier, str, int, int, str], ...] = (
    (Tier.HAIKU, "format", 900, 150, "short formatting task"),
    (Tier.HAIKU, "format", 1_400, 220, "short formatting task"),
    (Tier.HAIKU, "classify", 600, 40, "classification <b>stays</b> on haiku & is cheap"),
    (Tier.HAIKU, "extract", 2_500, 300, "extraction from a short document"),
    (Tier.HAIKU, "summarize", 7_000, 500, "summary of a medium document"),
    (Tier.HAIKU, "format", 300, 90, "short formatting task"),
    (Tier.SONNET, "implement", 4_000, 1_800, "implementation task"),
    (Tier.SONNET, "test", 3_200, 2_400, "keyword 'write tests' matched"),
    (Tier.SONNET, "refactor-simple", 5_500, 1_200, "simple refactor"),
    (Tier.SONNET, "debug", 8_000, 900, "debugging a stack trace"),
    (Tier.OPUS, "architect", 12_000, 3_500, "architecture question needs the top tier"),
    (Tier.OPUS, "security-review", 20_000, 2_000, "security review is never downgraded"),
)
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Expected:
    """What the dashboard must show for ``records``."""

    requests: int
    cost: Decimal
    baseline: Decimal
    savings: Decimal
    cost_per_task: Decimal
    baseline_cost_per_task: Decimal
    tier_shares: dict[str, float]

    @property
    def savings_pct(self) -> float:
        return float(self.savings / self.baseline)


def known_records(now: datetime, policy: Policy) -> list[DecisionRecord]:
    """Twelve routed requests over the last three days on the policy's tier models."""
    baseline_model = policy.model_for(Tier.OPUS).id
    records = []
    for n, (tier, task_type, tokens_in, tokens_out, reason) in enumerate(_PLAN):
        model = policy.model_for(tier).id
        usage = Usage(input_tokens=tokens_in, output_tokens=tokens_out)
        actual, baseline = cost(usage, model), cost(usage, baseline_model)
        records.append(
            DecisionRecord(
                request_id=f"req_dashboard_{n:03d}",
                time=now - timedelta(hours=6 * n + 1),
                endpoint="messages",
                status=200,
                task_type=task_type,
                requested_model="auto",
                chosen_model=model,
                chosen_tier=tier.value,
                served_model=model,
                routed=True,
                reason=reason,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cost_usd=actual.total,
                cost_micro_usd=actual.total_micro_usd,
                baseline_model=baseline_model,
                baseline_cost_usd=baseline.total,
                baseline_cost_micro_usd=baseline.total_micro_usd,
                savings_usd=baseline.total - actual.total,
                savings_micro_usd=baseline.total_micro_usd - actual.total_micro_usd,
                decision_latency=0.00004 * (n + 1),
                upstream_latency=0.5 + 0.1 * n,
                total_latency=0.5 + 0.1 * n + 0.00004 * (n + 1),
            )
        )
    return records


def expected(records: list[DecisionRecord]) -> Expected:
    """The figures, from the records' own micro-dollar columns and tiers."""
    count = len(records)
    cost_micro = sum(r.cost_micro_usd or 0 for r in records)
    baseline_micro = sum(r.baseline_cost_micro_usd or 0 for r in records)
    savings_micro = sum(r.savings_micro_usd or 0 for r in records)
    tiers = Counter(r.chosen_tier for r in records if r.chosen_tier is not None)
    return Expected(
        requests=count,
        cost=cost_micro * MICRO,
        baseline=baseline_micro * MICRO,
        savings=savings_micro * MICRO,
        cost_per_task=Decimal(cost_micro) / count * MICRO,
        baseline_cost_per_task=Decimal(baseline_micro) / count * MICRO,
        tier_shares={tier: tiers[tier] / count for tier in tiers},
    )
