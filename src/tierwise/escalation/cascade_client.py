"""The classifier and the cascade for the library client (``tierwise.Anthropic``), sync and async.

The client hands over two callables: ``answer(routed)`` sends a routed request with the SDK and
returns its ``Message``; ``ask(body, timeout)`` sends a classifier or judge request without
retries. What happened — every attempt with its usage, cost and verdicts, and the routing calls —
is returned as an ``AssistReport`` that the client attaches to the message (``report_of``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tierwise.core.usage import Usage
from tierwise.escalation.cascade import Cascade, plan_cascade
from tierwise.escalation.classifier import Classifier, reroute, wants
from tierwise.escalation.validators import CheckResult, read_judgement
from tierwise.escalation.validators.checks import AnswerPredicate
from tierwise.escalation.validators.judge import unavailable
from tierwise.ledger.outcome import Attempt, RoutingCall, price
from tierwise.messages.routing import MessagesRouter, Routed

Answer = Callable[[Routed], Any]
AsyncAnswer = Callable[[Routed], Awaitable[Any]]
Ask = Callable[[dict[str, Any], float], Mapping[str, Any]]
AsyncAsk = Callable[[dict[str, Any], float], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class AssistReport:
    """What one ``create`` did: the attempts (kinds, usage, cost, verdicts) and routing calls."""

    attempts: tuple[Attempt, ...]
    routing_calls: tuple[RoutingCall, ...] = ()
    served: Routed | None = None

    @property
    def escalated(self) -> bool:
        return any(attempt.kind == "escalation" for attempt in self.attempts)


@dataclass
class ClientAssist:
    """One per client (shared by its copies): the classifier's cache and circuit, the checks."""

    router: MessagesRouter
    validators: Mapping[str, AnswerPredicate] = field(default_factory=dict)
    classifier: Classifier | None = None

    def __post_init__(self) -> None:
        if self.classifier is None and self.router.policy.config.classifier.enabled:
            self.classifier = Classifier(self.router.policy)

    def active(self, routed: Routed) -> bool:
        """Whether anything beyond a plain call is needed for ``routed``."""
        return wants(self.router, routed) is not None or self._plan(routed) is not None

    def run(self, routed: Routed, answer: Answer, ask: Ask) -> tuple[Any, AssistReport]:
        """Classify (when unsure), then answer through the cascade (when enabled)."""
        calls: list[RoutingCall] = []
        if self.classifier is not None and wants(self.router, routed) and routed.request:
            result = self.classifier.classify_sync(routed.request.text, ask)
            calls += [result.call] if result.call is not None else []
            routed = reroute(self.router, routed, result.verdict)
        cascade = self._plan(routed)
        attempts: list[Attempt] = []
        best: tuple[Any, Routed] | None = None
        while True:
            current = cascade.current if cascade is not None else routed
            started = time.perf_counter()
            try:
                message = answer(current)
            except Exception:
                if best is None:
                    raise
                return best[0], AssistReport(tuple(attempts), tuple(calls), best[1])
            best = message, current
            data = _as_dict(message)
            judged = None
            if cascade is not None:
                body = cascade.judge_request(data)
                if body is not None and cascade.checks.judge is not None:
                    judged = self._judge_sync(cascade, body, ask, calls)
            step = self._step(cascade, current, data, judged, started, attempts)
            if step is None:
                return message, AssistReport(tuple(attempts), tuple(calls), current)

    async def arun(
        self, routed: Routed, answer: AsyncAnswer, ask: AsyncAsk
    ) -> tuple[Any, AssistReport]:
        """``run`` for ``AsyncAnthropic``."""
        calls: list[RoutingCall] = []
        if self.classifier is not None and wants(self.router, routed) and routed.request:
            result = await self.classifier.classify(
                routed.request.text, lambda b: ask(b, self.router.policy.config.classifier.timeout)
            )
            calls += [result.call] if result.call is not None else []
            routed = reroute(self.router, routed, result.verdict)
        cascade = self._plan(routed)
        attempts: list[Attempt] = []
        best: tuple[Any, Routed] | None = None
        while True:
            current = cascade.current if cascade is not None else routed
            started = time.perf_counter()
            try:
                message = await answer(current)
            except Exception:  # the higher rung could not answer: serve the last answer
                if best is None:
                    raise
                return best[0], AssistReport(tuple(attempts), tuple(calls), best[1])
            best = message, current
            data = _as_dict(message)
            judged = None
            if cascade is not None:
                body = cascade.judge_request(data)
                judge = cascade.checks.judge
                if body is not None and judge is not None:
                    timeout = self.router.policy.config.escalation.judge_timeout
                    began = time.perf_counter()
                    try:
                        verdict = await ask(body, timeout)
                    except Exception as exc:  # a judge outage never fails the answer
                        judged = _judge_failed(judge.model, began, exc, calls)
                    else:
                        judged = _judge_read(cascade, verdict, began, calls)
            step = self._step(cascade, current, data, judged, started, attempts)
            if step is None:
                return message, AssistReport(tuple(attempts), tuple(calls), current)

    # -- shared steps ---------------------------------------------------------------------

    def _plan(self, routed: Routed) -> Cascade | None:
        if routed.stream:
            return None
        return plan_cascade(self.router, routed, self.validators)

    def _judge_sync(
        self, cascade: Cascade, body: dict[str, Any], ask: Ask, calls: list[RoutingCall]
    ) -> CheckResult:
        assert cascade.checks.judge is not None
        began = time.perf_counter()
        try:
            verdict = ask(body, self.router.policy.config.escalation.judge_timeout)
        except Exception as exc:  # a judge outage never fails the answer
            return _judge_failed(cascade.checks.judge.model, began, exc, calls)
        return _judge_read(cascade, verdict, began, calls)

    def _step(
        self,
        cascade: Cascade | None,
        current: Routed,
        data: Mapping[str, Any],
        judged: CheckResult | None,
        started: float,
        attempts: list[Attempt],
    ) -> Routed | None:
        """Record the attempt; the next request up the ladder, or ``None`` to serve this one."""
        usage = _usage(data)
        model = str(data.get("model") or current.model)
        latency = time.perf_counter() - started
        kind = cascade.kind if cascade is not None else "first"
        if cascade is None:
            attempts.append(Attempt(model, 200, None, latency, 0, kind, usage, price(usage, model)))
            return None
        assessment = cascade.assess(data, judged)
        attempts.append(
            Attempt(
                model, 200, None, latency, 0, kind, usage, price(usage, model),
                assessment.as_dicts(),
            )
        )  # fmt: skip
        return cascade.escalate(assessment)


def _judge_failed(
    model: str, began: float, exc: Exception, calls: list[RoutingCall]
) -> CheckResult:
    why = type(exc).__name__
    calls.append(RoutingCall("judge", model, time.perf_counter() - began, error=why))
    return unavailable(why)


def _judge_read(
    cascade: Cascade, verdict: Mapping[str, Any], began: float, calls: list[RoutingCall]
) -> CheckResult:
    judge = cascade.checks.judge
    assert judge is not None
    usage = _usage(verdict)
    latency = time.perf_counter() - began
    calls.append(RoutingCall("judge", judge.model, latency, usage, price(usage, judge.model)))
    return read_judgement(judge, verdict)


def _as_dict(message: Any) -> Mapping[str, Any]:
    """An SDK ``Message`` (or a dict) in the wire form the checks read."""
    if isinstance(message, Mapping):
        return message
    dump = getattr(message, "model_dump", None)
    data = dump(mode="json") if callable(dump) else {}
    return data if isinstance(data, dict) else {}


def _usage(data: Mapping[str, Any]) -> Usage | None:
    usage = data.get("usage")
    try:
        return Usage.from_api(usage) if isinstance(usage, Mapping) else None
    except ValueError:
        return None
