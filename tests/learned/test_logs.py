"""Labels from decision records: escalations, quality scores, and records without prompts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tierwise.analysis.training.logs import examples_from_records
from tierwise.core.tiers import Tier
from tierwise.ledger.records import DecisionRecord

LADDER = (Tier.HAIKU, Tier.SONNET, Tier.OPUS)


def _record(
    prompt: str | None, attempts: list[dict[str, Any]], score: float | None = None
) -> DecisionRecord:
    return DecisionRecord(
        request_id=f"r-{prompt}",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        endpoint="messages",
        status=200,
        attempts=tuple(attempts),
        quality_score=score,
        prompt=prompt,
    )


def test_escalation_passed_validation_and_quality_scores_become_labels() -> None:
    records = [
        _record(  # haiku failed validation, sonnet passed
            "escalated",
            [
                {"model": "claude-haiku-5-5", "status": 200, "kind": "first"},
                {"model": "claude-sonnet-5-5", "status": 200, "kind": "escalation"},
            ],
        ),
        _record(
            "haiku was enough", [{"model": "claude-haiku-5-5", "status": 200, "kind": "first"}]
        ),
        _record("scored badly", [{"model": "claude-sonnet-5-5", "status": 200}], score=0.2),
        _record(None, [{"model": "claude-haiku-5-5", "status": 200}]),
        _record("upstream error", [{"model": "claude-haiku-5-5", "status": 529}]),
    ]
    found = examples_from_records(records, LADDER)
    outcomes = {e.text: e.outcomes for e in found.examples}
    assert outcomes["escalated"] == {Tier.HAIKU: 0, Tier.SONNET: 1, Tier.OPUS: 1}
    assert outcomes["haiku was enough"] == {Tier.HAIKU: 1, Tier.SONNET: 1, Tier.OPUS: 1}
    assert outcomes["scored badly"] == {Tier.HAIKU: 0, Tier.SONNET: 0}
    assert found.without_prompt == 1
    assert found.without_label == 1
