"""Re-decide recorded requests with another policy, exactly as the live proxy would, offline.

Each record goes through the same code as a live request: ``MessagesRouter`` (aliases,
pass-through, rewrite mode, conversation pinning, assistant prefills) over a ``Router`` with the
new policy's strategies. What differs is where the prompt's features come from:

* a record with its prompt (``serve --store-prompts``, not cut at the size cap) is decided from
  the text, like a live request;
* any other record is decided from its ``routing_inputs`` (``inputs.RecordedFeatures``): the
  keyword strategy answers from the recorded phrase evidence, the signals strategy reads the
  recorded definition markers. Phrases and markers the new policy looks for but the recording
  policy did not are unknown: they are taken as absent, and the record says so in ``notes``.

The LLM classifier is not called: when the new policy would ask it, the grade recorded in the
record's trace is reused; without one the local decision stands (noted). Conversations are
replayed in time order so that a pinned conversation follows the model replay gave it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from tierwise.core.decision import Action, Decision, Verdict
from tierwise.core.errors import InputError, PricingError, PromptTooLargeError
from tierwise.core.features import PromptFeatures
from tierwise.core.policy import Policy, default_policy
from tierwise.core.pricing import cost
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.keywords import KeywordStrategy, Needle, PhraseMatcher
from tierwise.core.tiers import Tier
from tierwise.core.usage import Usage
from tierwise.escalation.classifier import reroute, wants
from tierwise.learned.pipeline import Router
from tierwise.ledger.records import TRUNCATED, DecisionRecord, micro_usd
from tierwise.messages.inputs import RecordedFeatures, RoutingInputs, Vocabulary
from tierwise.messages.routing import MessagesRouter, Routed

__all__ = ["Basis", "Replayed", "Replayer", "Skipped"]

Basis = Literal["prompt", "inputs"]
_FEATURES = "tierwise.replay.features"  # RouteRequest.metadata key of the recorded features
NEEDS_TEXT = (
    "the new policy's learned router scores the prompt text, which was not kept "
    "(serve --store-prompts keeps it): not re-decided, left out of the figures"
)
_TEXT_STRATEGIES = ("learned",)  # strategies that read the text itself, not its features
_CLASSIFIER = "classifier"


@dataclass(frozen=True, slots=True)
class Replayed:
    """One record re-decided. ``model``/``tier`` are where the new policy sends it (``None``
    when the new policy would refuse it: ``refused`` says why). ``cost_micro`` is what it would
    cost: the recorded total when the model is unchanged, else the recorded usage priced on
    the new model (output length assumed unchanged) plus the recorded routing calls."""

    record: DecisionRecord
    basis: Basis
    model: str | None
    tier: Tier | None
    task_type: str | None
    reason: str
    cost_micro: int | None
    refused: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the new policy sends the request to another model than the recorded one."""
        return self.model != self.record.chosen_model

    @property
    def recorded_tier(self) -> Tier | None:
        return _tier(self.record.chosen_tier)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record replay cannot re-decide, and why."""

    record: DecisionRecord
    why: str


class _EvidenceNeedle(Needle):
    """A keyword phrase whose presence in the first line comes from the record."""

    __slots__ = ()

    def in_lead(self, features: PromptFeatures) -> bool:
        if isinstance(features, RecordedFeatures):
            return features.found.get(self.phrase, False)
        return super().in_lead(features)


@dataclass
class _EvidenceMatcher(PhraseMatcher):
    """The new policy's phrase matcher, answering from the record's evidence when the request
    has no text, and from the text otherwise."""

    by_phrase: dict[str, list[Needle]] = dataclasses.field(default_factory=dict)

    @classmethod
    def for_rules(cls, phrases_by_rule: list[list[str]]) -> _EvidenceMatcher:
        compiled = PhraseMatcher.compile(phrases_by_rule)
        matcher = cls(**{f.name: getattr(compiled, f.name) for f in dataclasses.fields(compiled)})
        for rule, phrases in enumerate(phrases_by_rule):
            for phrase in phrases:
                needle = _EvidenceNeedle(rule, phrase, "")
                matcher.by_phrase.setdefault(phrase, []).append(needle)
        return matcher

    def find(self, features: PromptFeatures) -> list[Needle]:
        if not isinstance(features, RecordedFeatures):
            return super().find(features)
        return [n for phrase in features.found for n in self.by_phrase.get(phrase, ())]


class _ReplayRouter(Router):
    """The new policy's router; recorded features stand in for the text when it was not kept."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        config = policy.config
        matcher = _EvidenceMatcher.for_rules([rule.phrases for rule in config.keywords.rules])
        self._strategies = [
            KeywordStrategy(config.keywords, config.routes, matcher)
            if isinstance(strategy, KeywordStrategy)
            else strategy
            for strategy in self._strategies
        ]

    def decide(self, request: RouteRequest, limits: Sequence[Verdict] = ()) -> Decision:
        features = request.metadata.get(_FEATURES)
        if not isinstance(features, RecordedFeatures):
            return super().decide(request, limits)
        limit = self.policy.config.limits.max_prompt_chars
        if features.chars > limit:
            raise PromptTooLargeError(
                f"the prompt has {features.chars:,} characters, over the limit of {limit:,} "
                "(limits.max_prompt_chars)"
            )
        return self.decide_with(request, features, limits)


class Replayer:
    """Re-decides records with ``policy``, one at a time, in the order given (oldest first).

    ``known`` are policies the records may have been recorded under (the default policy is
    always one): when a record's vocabulary digest matches one, replay can name the phrases the
    new policy looks for that were never looked for.
    """

    def __init__(self, policy: Policy, *, known: Iterable[Policy] = ()) -> None:
        self.policy = policy
        self.router = MessagesRouter(_ReplayRouter(policy))
        self.vocabulary = Vocabulary.of(policy.config)
        policies = [default_policy(), *known]
        self._known = {v.digest: v for v in (Vocabulary.of(p.config) for p in policies)}
        self._known[self.vocabulary.digest] = self.vocabulary

    def replay(self, records: Iterable[DecisionRecord]) -> Iterator[Replayed | Skipped]:
        for record in records:
            yield self.one(record)

    def one(self, record: DecisionRecord) -> Replayed | Skipped:
        """Re-decide one record (its conversation's pin follows what replay decided before)."""
        if record.endpoint != "messages":
            return Skipped(record, f"{record.endpoint} requests are not answered by a model")
        if record.chosen_model is None or record.requested_model is None:
            return Skipped(record, "refused or failed before routing")
        inputs = RoutingInputs.from_json(record.routing_inputs)
        prompt = record.prompt if record.prompt and not record.prompt.endswith(TRUNCATED) else None
        if prompt is None and inputs is None:
            return Skipped(record, "recorded without routing inputs or prompt text")
        basis: Basis = "prompt" if prompt is not None else "inputs"
        notes: list[str] = []
        request = self._request(record, prompt, inputs, notes)
        body = _stand_in_body(record, inputs)
        try:
            routed = self.router.route_request(body, request)
        except InputError as exc:
            return Replayed(record, basis, None, None, None, str(exc), None, refused=str(exc))
        routed = self._classified(record, routed, notes)
        if basis == "inputs" and _decided_by(routed) in _TEXT_STRATEGIES:
            return Skipped(record, NEEDS_TEXT)  # it would have scored the placeholder text
        if record.status < 400 and routed.conversation_key:
            self.router.record_served(routed, _served(record, routed))
        decision = routed.decision
        return Replayed(
            record,
            basis,
            routed.model,
            routed.tier,
            decision.task_type if decision is not None else None,
            decision.reason if decision is not None else routed.reason,
            _cost(record, routed.model),
            notes=tuple(notes),
        )

    def _request(
        self,
        record: DecisionRecord,
        prompt: str | None,
        inputs: RoutingInputs | None,
        notes: list[str],
    ) -> RouteRequest:
        metadata: dict[str, Any] = {}
        text = prompt or ""
        if prompt is None and inputs is not None and inputs.text:
            text = "(text not kept)"  # routing sees text; the features come from the record
            metadata[_FEATURES] = inputs.features(record.context_tokens)
            notes.extend(self._unknown_words(inputs))
        return RouteRequest(
            text=text,
            task_type=record.hint_task_type,
            domain=record.domain,
            user_tier=record.user_tier,
            context_tokens=record.context_tokens,
            requested_model=record.requested_model,
            conversation_key=record.conversation_key,
            turns=record.turns or 1,
            metadata=metadata,
        )

    def _unknown_words(self, inputs: RoutingInputs) -> list[str]:
        """Notes on phrases the new policy looks for that nobody looked for when recording."""
        if inputs.vocabulary == self.vocabulary.digest:
            return []
        recorded = self._known.get(inputs.vocabulary)
        if recorded is None:
            return ["recorded under a policy with other keyword phrases (unknown which)"]
        new = sorted(
            (self.vocabulary.phrases - recorded.phrases)
            | (self.vocabulary.markers - recorded.markers)
        )
        return [f"not looked for when recorded, taken as absent: {p!r}" for p in new]

    def _classified(self, record: DecisionRecord, routed: Routed, notes: list[str]) -> Routed:
        """The classifier's grade, as recorded, where the new policy would ask for one."""
        if not wants(self.router, routed):
            return routed
        verdict = _recorded_verdict(record.trace, _CLASSIFIER)
        if verdict is None:
            notes.append("the classifier would be asked; no recorded grade: local decision kept")
            return routed
        return reroute(self.router, routed, verdict)


def _decided_by(routed: Routed) -> str | None:
    """The strategy whose verdict set the tier (the first decide in policy order)."""
    if routed.decision is None:
        return None
    return next((v.strategy for v in routed.decision.trace if v.action is Action.DECIDE), None)


def _stand_in_body(record: DecisionRecord, inputs: RoutingInputs | None) -> dict[str, Any]:
    """A Messages body carrying what dispatch reads from the real one: the model, streaming,
    an assistant prefill, and cache breakpoints (which pin a conversation)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "(text not kept)"}]
    if inputs is not None and inputs.prefill:
        messages.append({"role": "assistant", "content": "(prefill)"})
    body: dict[str, Any] = {
        "model": record.requested_model,
        "max_tokens": 1024,
        "messages": messages,
        "stream": record.stream,
    }
    if inputs is not None and inputs.pinning:
        body["cache_control"] = {"type": "ephemeral"}
    return body


def _served(record: DecisionRecord, routed: Routed) -> str:
    """The model that would answer: the recorded one when routing is unchanged (a fallback or
    escalation included), else the new choice."""
    if routed.model == record.chosen_model and record.served_model:
        return record.served_model
    return routed.model


def _recorded_verdict(trace: tuple[Mapping[str, Any], ...], strategy: str) -> Verdict | None:
    for item in reversed(trace):
        if item.get("strategy") != strategy:
            continue
        try:
            return Verdict(
                strategy,
                Action(item["action"]),
                str(item.get("reason", "")),
                tier=_tier(item.get("tier")),
            )
        except (KeyError, ValueError):
            return None
    return None


def _cost(record: DecisionRecord, model: str) -> int | None:
    """What the request would cost on ``model``, in micro-dollars (``None``: no usage)."""
    if model == record.chosen_model:
        return record.cost_micro_usd
    usage = _usage(record)
    if usage is None:
        return None
    try:
        answer = cost(usage, model)
    except PricingError:
        return None
    routing = record.routing_cost_usd or Decimal(0)
    return micro_usd(answer.total + routing)


def _usage(record: DecisionRecord) -> Usage | None:
    if record.input_tokens is None or record.output_tokens is None:
        return None
    return Usage(
        input_tokens=record.input_tokens,
        cache_write_5m_tokens=record.cache_write_5m_tokens or 0,
        cache_write_1h_tokens=record.cache_write_1h_tokens or 0,
        cache_read_tokens=record.cache_read_tokens or 0,
        output_tokens=record.output_tokens,
        thinking_tokens=record.thinking_tokens or 0,
    )


def _tier(name: object) -> Tier | None:
    try:
        return Tier(name) if isinstance(name, str) else None
    except ValueError:
        return None
