"""The decision record: one finished request as it is stored, reported on and replayed.

``DecisionRecord.from_outcome`` flattens an ``Outcome`` (what the proxy reports after every
request) into plain values: who asked, what routing decided and why, what was served, the usage
and its exact cost against the baseline, the latencies and every attempt. It is a frozen value
with no database behind it; the store writes it, the spool keeps it as one JSON line.

Nothing secret goes in: the caller is the *name* of the proxy key that was presented, never the
key; ``user_id`` is the opaque ``metadata.user_id`` the caller chose to send; headers are not
kept. Prompt text is kept only when asked for (``store_prompt=True``), cut at ``prompt_cap``
characters.

Money is ``Decimal``, exact as ``pricing`` computed it, and also in whole micro-dollars (rounded
half up) for fast sums in SQL; ``savings_micro_usd`` is the difference of the rounded baseline
and cost, so sums of the three integer columns always agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from tierwise.core.usage import Usage
from tierwise.messages.sizing import counted_tokens

if TYPE_CHECKING:
    from tierwise.core.policy import Policy
    from tierwise.ledger.outcome import Attempt, Outcome
    from tierwise.messages.routing import Routed

__all__ = [
    "DEFAULT_PROMPT_CAP",
    "FIELD_NAMES",
    "DecisionRecord",
    "cap_text",
    "dumps_json",
    "policy_fingerprint",
    "record_fields",
]

DEFAULT_PROMPT_CAP = 8_000  # characters of prompt text kept when prompts are stored
TRUNCATED = "\n[... truncated by tierwise]"
TEXT_CAP = 256  # caller-chosen short strings (hints, user id, model names) are cut here
_DECIMALS = ("cost_usd", "baseline_cost_usd", "savings_usd", "routing_cost_usd")
_JSON_LISTS = ("trace", "attempts", "validator_verdicts")
# ``Usage``'s fields, read one by one (``dataclasses.asdict`` deep-copies: ten times slower)
_USAGE_FIELDS = tuple(field.name for field in fields(Usage))


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One request, flattened for storage. Latencies are seconds (``None``: the step never
    happened); token counts and costs are ``None`` when the upstream reported no usage or the
    catalog cannot price the model."""

    request_id: str
    time: datetime  # when the request arrived, UTC
    endpoint: str  # "messages" or "count_tokens"
    status: int
    stream: bool = False
    error_type: str | None = None
    # who and what
    conversation_key: str | None = None
    caller: str | None = None  # the proxy key's name, never the key
    user_id: str | None = None  # metadata.user_id as the caller sent it
    task_type: str | None = None  # the decision's task type, else the caller's hint
    domain: str | None = None  # hint
    user_tier: str | None = None  # hint
    hint_task_type: str | None = None  # the caller's task-type hint as given (for replay)
    # the decision
    requested_model: str | None = None
    chosen_model: str | None = None  # where routing sent it, before any fallback
    chosen_tier: str | None = None
    served_model: str | None = None  # the model that answered (None: no answer)
    routed: bool = False  # False: passed through or refused before routing
    pinned: bool = False
    reason: str | None = None
    trace: tuple[dict[str, Any], ...] = ()  # Verdict.as_dict() of every strategy, in order
    score: float | None = None
    policy_fingerprint: str | None = None
    context_tokens: int | None = None
    turns: int | None = None
    # usage, as billed
    input_tokens: int | None = None
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    cache_read_tokens: int | None = None
    output_tokens: int | None = None
    thinking_tokens: int | None = None
    # money, exact and in micro-dollars
    cost_usd: Decimal | None = None
    cost_micro_usd: int | None = None
    baseline_model: str | None = None
    baseline_cost_usd: Decimal | None = None
    baseline_cost_micro_usd: int | None = None
    savings_usd: Decimal | None = None
    savings_micro_usd: int | None = None
    # latencies, seconds
    decision_latency: float | None = None
    upstream_latency: float | None = None
    ttfb: float | None = None
    total_latency: float | None = None
    # what happened upstream, and what is judged later
    attempts: tuple[dict[str, Any], ...] = ()  # model, status, error_type, latency, retries
    fell_back: bool = False
    validator_verdicts: tuple[dict[str, Any], ...] = ()
    quality_score: float | None = None
    prompt: str | None = None  # only when storing prompts was opted into
    # the classifier's and judges' share of cost_usd (the routing overhead)
    routing_cost_usd: Decimal | None = None
    routing_cost_micro_usd: int | None = None
    # what routing read besides the hints (features, keyword evidence, body facts): for replay
    routing_inputs: dict[str, Any] | None = None
    # the API's count of the prompt (``context_tokens`` is the offline estimate), when one was
    # made: only near a context threshold (``tierwise.serving.token_counts``)
    counted_context_tokens: int | None = None
    # the agent session (Claude Code's session id, else the conversation key), what it decided
    # about switching models (``tierwise.messages.sessions``) and the cache loss, micro-dollars
    session_id: str | None = None
    switch_decision: str | None = None
    switch_cache_cost_micro_usd: int | None = None
    # the usage is tierwise's estimate, not the API's: a stream that ended before its final
    # counts (the client left, the upstream broke) is billed for what was relayed
    usage_estimated: bool = False

    @classmethod
    def from_outcome(
        cls,
        outcome: Outcome,
        *,
        finished_at: datetime | None = None,
        policy_fingerprint: str | None = None,
        store_prompt: bool = False,
        prompt_cap: int = DEFAULT_PROMPT_CAP,
        routing_inputs: bool = True,
    ) -> DecisionRecord:
        """The record of ``outcome``. ``finished_at`` is when the response ended (default: now);
        the record's ``time`` is that minus the request's total latency. ``routing_inputs=False``
        leaves that column to the caller (the writer process captures it off the proxy's loop)."""
        return cls(
            **record_fields(
                outcome,
                finished_at=finished_at,
                policy_fingerprint=policy_fingerprint,
                store_prompt=store_prompt,
                prompt_cap=prompt_cap,
                routing_inputs=routing_inputs,
            )
        )

    # -- plain forms: a row for the store, a JSON line for the spool --------------------------

    def as_row(self) -> dict[str, Any]:
        """The record as column values (a dict keyed by field name; lists stay tuples).

        NUL characters, which PostgreSQL refuses in ``text``, are replaced by U+FFFD in text
        fields; ``dumps_json`` does the same inside the JSON lists when they are serialised.
        """
        row = {name: getattr(self, name) for name in FIELD_NAMES}
        for name in TEXT_FIELDS:
            value = row[name]
            if value is not None and "\x00" in value:
                row[name] = value.replace("\x00", "\ufffd")
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DecisionRecord:
        """A record from column values (extra keys such as ``id`` are ignored)."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in row:
                continue
            value = row[item.name]
            if item.name in _JSON_LISTS:
                value = tuple(value or ())
            elif item.name in _DECIMALS and value is not None and not isinstance(value, Decimal):
                value = Decimal(str(value))
            elif item.name == "time":
                value = _utc(value)
            values[item.name] = value
        return cls(**values)

    def to_json(self) -> str:
        """One line of JSON (no newline inside): Decimals as strings, time in ISO 8601."""
        data = {name: getattr(self, name) for name in FIELD_NAMES}
        data["time"] = self.time.isoformat()
        for name in _DECIMALS:
            value = data[name]
            data[name] = None if value is None else format(value, "f")
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str | bytes) -> DecisionRecord:
        """The record a ``to_json`` line holds; ``ValueError`` for anything else."""
        data = json.loads(line)
        if not isinstance(data, dict) or not isinstance(data.get("request_id"), str):
            raise ValueError("not a decision record")
        try:
            data["time"] = datetime.fromisoformat(data["time"])
            return cls.from_row(data)
        except (KeyError, TypeError, ArithmeticError) as exc:  # a field missing or malformed
            raise ValueError(f"not a decision record: {exc!r}") from None


def policy_fingerprint(policy: Policy) -> str:
    """A stable 16-hex-digit hash of the policy's validated configuration.

    Two policies that route alike (same fields after validation and defaults) share it,
    whatever file they came from; any change to a table, rule or tier model changes it.
    """
    data = policy.config.model_dump(mode="json")
    data.pop("extends", None)  # how the file was written, not how it routes
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def cap_text(text: str, cap: int) -> str:
    """``text``, or its first characters and a marker when longer than ``cap``."""
    if len(text) <= cap:
        return text
    if cap <= len(TRUNCATED):
        return text[: max(cap, 0)]
    return text[: cap - len(TRUNCATED)] + TRUNCATED


def record_fields(
    outcome: Outcome,
    *,
    finished_at: datetime | None = None,
    policy_fingerprint: str | None = None,
    store_prompt: bool = False,
    prompt_cap: int = DEFAULT_PROMPT_CAP,
    routing_inputs: bool = True,
) -> dict[str, Any]:
    """``DecisionRecord.from_outcome``'s field values by name, not yet a record: the proxy's
    writer ships them as they are (a frozen record's ``__init__`` is a third of the work)."""
    from tierwise.ledger.outcome import label_attempts

    finished = finished_at if finished_at is not None else datetime.now(UTC)
    started = _utc(finished) - timedelta(seconds=max(outcome.total_latency, 0.0))
    routed = outcome.routed
    decision = outcome.decision
    request = routed.request if routed is not None else None
    hint_task = request.task_type if request is not None else None
    usage = outcome.usage
    total, baseline = outcome.total_cost, outcome.baseline_cost
    total_micro = micro_usd(total) if total is not None else None
    savings = baseline.total - total if total is not None and baseline is not None else None
    savings_micro = (
        baseline.total_micro_usd - total_micro
        if total_micro is not None and baseline is not None
        else None
    )
    routing_cost = outcome.routing_cost if outcome.routing_calls else None
    prompt = None
    if store_prompt and request is not None and request.text:
        prompt = cap_text(request.text, prompt_cap)
    return dict(  # noqa: C408 (the names line up with the record's fields)
        request_id=outcome.request_id,
        time=started,
        endpoint=outcome.endpoint,
        status=outcome.status,
        stream=outcome.stream,
        error_type=outcome.error_type,
        conversation_key=(routed.conversation_key or None) if routed is not None else None,
        caller=_short(outcome.caller),
        user_id=_short(_user_id(routed.source_body if routed is not None else None)),
        task_type=_short((decision.task_type if decision is not None else None) or hint_task),
        domain=_short(request.domain if request is not None else None),
        user_tier=_short(request.user_tier if request is not None else None),
        hint_task_type=_short(hint_task),
        requested_model=_short(outcome.requested_model),
        chosen_model=routed.model if routed is not None else None,
        chosen_tier=routed.tier.value if routed is not None and routed.tier else None,
        served_model=outcome.served_model,
        routed=decision is not None,
        pinned=routed.pinned if routed is not None else False,
        reason=(decision.reason if decision is not None else routed.reason)
        if routed is not None
        else None,
        trace=tuple(v.as_dict() for v in decision.trace) if decision is not None else (),
        score=decision.score if decision is not None else None,
        policy_fingerprint=policy_fingerprint,
        context_tokens=_context_tokens(outcome),
        turns=request.turns if request is not None else None,
        input_tokens=usage.input_tokens if usage is not None else None,
        cache_write_5m_tokens=usage.cache_write_5m_tokens if usage is not None else None,
        cache_write_1h_tokens=usage.cache_write_1h_tokens if usage is not None else None,
        cache_read_tokens=usage.cache_read_tokens if usage is not None else None,
        output_tokens=usage.output_tokens if usage is not None else None,
        thinking_tokens=usage.thinking_tokens if usage is not None else None,
        cost_usd=total,
        cost_micro_usd=total_micro,
        baseline_model=outcome.baseline_model,
        baseline_cost_usd=baseline.total if baseline is not None else None,
        baseline_cost_micro_usd=baseline.total_micro_usd if baseline is not None else None,
        savings_usd=savings,
        savings_micro_usd=savings_micro,
        decision_latency=outcome.decision_latency,
        upstream_latency=outcome.upstream_latency,
        ttfb=outcome.ttfb,
        total_latency=outcome.total_latency,
        attempts=tuple(_attempt(a) for a in label_attempts(outcome.attempts)),
        fell_back=outcome.fell_back,
        validator_verdicts=tuple(
            {"attempt": index, "model": a.model, **verdict}
            for index, a in enumerate(outcome.attempts)
            for verdict in a.verdicts
        ),
        prompt=prompt,
        routing_cost_usd=routing_cost,
        routing_cost_micro_usd=micro_usd(routing_cost) if routing_cost is not None else None,
        routing_inputs=_routing_inputs(outcome) if routing_inputs else None,
        counted_context_tokens=counted_tokens(request) if request is not None else None,
        session_id=_short(routed.session_id) if routed is not None else None,
        switch_decision=routed.switch if routed is not None else None,
        switch_cache_cost_micro_usd=_switch_cost(routed),
        usage_estimated=outcome.usage_estimated,
        quality_score=None,  # set later, when the answer is scored
    )


def micro_usd(amount: Decimal) -> int:
    """``amount`` in whole millionths of a dollar, rounded half up (as ``Cost`` rounds)."""
    return int(amount.scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _attempt(attempt: Attempt) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": attempt.model,
        "status": attempt.status,
        "error_type": attempt.error_type,
        "latency": round(attempt.latency, 6),
        "retries": attempt.retries,
        "kind": attempt.kind,
    }
    if attempt.usage is not None:
        out["usage"] = {name: getattr(attempt.usage, name) for name in _USAGE_FIELDS}
    if attempt.cost is not None:
        out["cost_usd"] = format(attempt.cost.total, "f")
        out["cost_micro_usd"] = attempt.cost.total_micro_usd
    if attempt.verdicts:
        out["verdicts"] = [dict(verdict) for verdict in attempt.verdicts]
    return out


def _routing_inputs(outcome: Outcome) -> dict[str, Any] | None:
    """The routing inputs replay needs (``tierwise.messages.inputs``); ``None`` when the request
    was not parsed for routing, or when capturing them failed (a record is never lost for it)."""
    routed = outcome.routed
    if routed is None or routed.request is None or routed.vocabulary is None:
        return None
    from tierwise.messages.inputs import RoutingInputs

    try:
        decision = routed.decision
        features = decision.features if decision is not None else None
        inputs = RoutingInputs.capture(
            routed.request, routed.source_body, routed.vocabulary, features
        )
    except Exception:
        return None
    return inputs.as_json()


def _switch_cost(routed: Routed | None) -> int | None:
    amount = routed.switch_cache_cost_usd if routed is not None else None
    return micro_usd(amount) if amount is not None else None


def _context_tokens(outcome: Outcome) -> int | None:
    routed = outcome.routed
    if routed is None:
        return None
    if routed.request is not None and routed.request.context_tokens is not None:
        return routed.request.context_tokens
    return routed.decision.context_tokens if routed.decision is not None else None


def _user_id(body: Mapping[str, Any] | None) -> str | None:
    metadata = body.get("metadata") if body is not None else None
    value = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) and value else None


def _short(value: str | None) -> str | None:
    return value if value is None or len(value) <= TEXT_CAP else value[:TEXT_CAP]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dumps_json(value: Any) -> str:
    """Compact JSON, with NUL characters (refused by PostgreSQL's ``jsonb``) as U+FFFD."""
    text = _ENCODER.encode(value)
    return _JSON_NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once: reused
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")  # an escaped NUL, not an escaped backslash
FIELD_NAMES = tuple(f.name for f in fields(DecisionRecord))
TEXT_FIELDS = tuple(f.name for f in fields(DecisionRecord) if f.type in ("str", "str | None"))
