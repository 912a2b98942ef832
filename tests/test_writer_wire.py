"""The proxy-to-writer wire: a record's values come back exactly, whatever they hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tierwise.core.policy import default_policy
from tierwise.core.pricing import cost
from tierwise.core.usage import Usage
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Attempt, Outcome
from tierwise.ledger.records import FIELD_NAMES, DecisionRecord
from tierwise.ledger.writer_wire import pack, unpack
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter

PROMPTS = ["Reformat this JSON", "Fix the race condition in the job queue", "Prove it terminates"]


def make_outcomes(count: int) -> list[Outcome]:
    """Routed requests' outcomes with usage, exact costs, a trace and an attempt."""
    router = MessagesRouter(Router(default_policy()))
    outcomes = []
    for index in range(count):
        body = {
            "model": "auto",
            "max_tokens": 1024,
            "metadata": {"user_id": f"user-{index}"},
            "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
        }
        routed = router.route(body, Hints())
        usage = Usage(input_tokens=1200 + index, cache_read_tokens=4000, output_tokens=350)
        outcomes.append(
            Outcome(
                request_id=f"req_{index}",
                endpoint="messages",
                status=200,
                stream=index % 2 == 0,
                requested_model="auto",
                served_model=routed.model,
                routed=routed,
                attempts=(Attempt(routed.model, 200, None, 0.8),),
                usage=usage,
                cost=cost(usage, routed.model),
                baseline_cost=cost(usage, "claude-opus-4-6"),
                decision_latency=0.00004,
                upstream_latency=0.8,
                ttfb=0.81,
                total_latency=1.2,
                caller="test",
            )
        )
    return outcomes


def values_of(record: DecisionRecord) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in FIELD_NAMES)


def test_realistic_records_round_trip_through_marshal() -> None:
    job = ("the text", "the system", 1200, 900, False, True, False, "digest")
    for outcome in make_outcomes(6):
        record = DecisionRecord.from_outcome(outcome, routing_inputs=False)
        blob = pack(values_of(record), job)
        assert blob[:1] == b"M"  # the fast path: nothing marshal cannot write
        values, back = unpack(blob)
        assert DecisionRecord(*values) == record
        assert back == job
        assert isinstance(values[FIELD_NAMES.index("cost_usd")], Decimal)


def test_exact_money_and_time_survive() -> None:
    base = DecisionRecord.from_outcome(make_outcomes(1)[0], routing_inputs=False)
    record = replace(
        base,
        time=datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC),
        cost_usd=Decimal("0.000000123456789"),
        savings_usd=Decimal("-1E-12"),
    )
    values, _ = unpack(pack(values_of(record), None))
    assert DecisionRecord(*values) == record


def test_a_value_marshal_does_not_know_falls_back_to_pickle() -> None:
    base = DecisionRecord.from_outcome(make_outcomes(1)[0], routing_inputs=False)
    record = replace(base, trace=({"strategy": "custom", "at": datetime(2026, 1, 1)},))
    blob = pack(values_of(record), None)
    assert blob[:1] == b"P"
    values, job = unpack(blob)
    assert DecisionRecord(*values) == record
    assert job is None
