"""``cost``: what a month of traffic costs on each tier and with routing."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tierwise.cli.console import JsonOption, PolicyOption, one_line_errors, out, policy_from
from tierwise.cli.routing import read_jsonl, row_request
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router


@one_line_errors
def cost(
    requests_per_day: Annotated[float, typer.Option(help="Requests per day.")] = 1000,
    input_tokens: Annotated[int, typer.Option(help="Average prompt tokens per request.")] = 2000,
    output_tokens: Annotated[int, typer.Option(help="Average answer tokens per request.")] = 500,
    cache_hit: Annotated[
        float, typer.Option(help="Share of prompt tokens read from cache (0-1).")
    ] = 0.0,
    batch_share: Annotated[
        float, typer.Option(help="Share of requests sent via the Batch API (0-1).")
    ] = 0.0,
    mix: Annotated[
        str | None, typer.Option(help="Tier mix, e.g. haiku=0.5,sonnet=0.35,opus=0.15.")
    ] = None,
    sample: Annotated[
        Path | None,
        typer.Option(help="JSONL of sample prompts: route them to measure the tier mix."),
    ] = None,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Estimate monthly spend routed vs all-Opus and all-Sonnet, and whether routing is worth it."""
    from tierwise.analysis.monthly_cost import Workload, estimate_monthly

    loaded = policy_from(policy)
    workload = Workload(
        requests_per_day=_decimal(requests_per_day, "--requests-per-day"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_hit_share=_decimal(cache_hit, "--cache-hit"),
        batch_share=_decimal(batch_share, "--batch-share"),
    )
    if mix is not None and sample is not None:
        raise InputError("give either --mix or --sample, not both")
    tier_mix = _parse_mix(mix) if mix else _sample_mix(sample, loaded) if sample else _default_mix()
    estimate = estimate_monthly(workload, tier_mix, loaded)
    baseline = loaded.top_tier
    if as_json:
        payload = {
            "mix": {t.value: float(s) for t, s in estimate.mix.items()},
            "monthly_routed_usd": float(round(estimate.routed, 2)),
            "monthly_by_tier_usd": {
                t.value: float(round(v, 2)) for t, v in estimate.per_tier.items()
            },
            "savings_vs": {
                t.value: _fraction(estimate.savings_against(t)) for t in estimate.per_tier
            },
            "advice": estimate.advice(baseline),
        }
        out.print_json(json.dumps(payload))
        return
    mix_text = ", ".join(f"{t.value} {s:.0%}" for t, s in estimate.mix.items())
    out.print(f"tier mix: {mix_text}")
    table = Table(title="estimated monthly spend")
    table.add_column("scenario")
    table.add_column("USD / month", justify="right")
    table.add_column("routed against it", justify="right")
    table.add_row("routed", f"{estimate.routed:,.2f}", "")
    for tier, amount in reversed(list(estimate.per_tier.items())):
        table.add_row(f"all {tier.value}", f"{amount:,.2f}", _against(estimate.routed, amount))
    out.print(table)
    out.print(estimate.advice(baseline))


def _against(routed: Decimal, amount: Decimal) -> str:
    """Routing against one all-on-a-tier scenario, worded so the sign cannot mislead: a saving
    where routing is cheaper, a multiple where the tier alone is cheaper (it would also have to
    do every task well)."""
    if amount == 0:
        return ""
    if routed <= amount:
        return f"saves {1 - routed / amount:.0%}"
    return f"costs {routed / amount:.1f}× as much"


def _decimal(value: float, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{name}: not a number: {value}") from None


def _fraction(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _parse_mix(text: str) -> dict[Tier, Decimal]:
    mix: dict[Tier, Decimal] = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        try:
            mix[Tier.parse(name)] = Decimal(share.strip())
        except InvalidOperation:
            raise InputError(f"--mix: {part.strip()!r} is not tier=share") from None
    return mix


def _default_mix() -> dict[Tier, Decimal]:
    """A typical coding-assistant mix, used when neither --mix nor --sample is given."""
    return {Tier.HAIKU: Decimal("0.45"), Tier.SONNET: Decimal("0.40"), Tier.OPUS: Decimal("0.15")}


def _sample_mix(path: Path, policy: Policy) -> dict[Tier, Decimal]:
    router = Router(policy)
    counts: dict[Tier, int] = {}
    for line_number, row in read_jsonl(path):
        tier = router.decide(row_request(row, line_number)).tier
        counts[tier] = counts.get(tier, 0) + 1
    total = sum(counts.values())
    if total == 0:
        raise InputError(f"{path}: no prompts to route")
    return {tier: Decimal(n) / total for tier, n in sorted(counts.items())}
