"""From a Messages API request to the body to send upstream: the core the proxy and client share.

``MessagesRouter.route`` decides what one request does:

* ``model`` is a routing alias (the policy's ``aliases``, ``auto`` by default): route it.
* ``model`` is a concrete ``claude-*`` id: pass it through untouched, unless the policy's
  ``proxy.rewrite_concrete_models`` is on and the catalog knows the model; then route it with the
  requested model's tier as a ceiling (never upward; the same tier keeps the exact id asked for).
* anything else: ``UnknownAliasError``, naming the aliases that do route.

A conversation whose history would not survive a switch (thinking signatures, cache
breakpoints; see ``pinning``) stays on the model that served it, unless the policy's
``proxy.allow_switch_pinned`` says otherwise. A Claude Code session (``sessions``) is routed
per instruction instead, and changes model only for an upgrade or a switch that pays. When the
model changes, the body is adjusted by ``sanitize``'s table and nothing else; a request with an
assistant prefill is never switched to a model that rejects prefills.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from tierwise.core.catalog import Catalog, ModelSpec, default_catalog
from tierwise.core.decision import Action, Decision, Verdict
from tierwise.core.errors import UnknownAliasError, UnknownModelError
from tierwise.core.policy import Policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.core.usage import Usage
from tierwise.learned.pipeline import DEFAULT_MAX_TOKENS, Router
from tierwise.messages.body_bytes import BodySpans
from tierwise.messages.ceilings import limit_ceiling, with_limits
from tierwise.messages.hints import Hints, header_safe, without_hint_metadata
from tierwise.messages.inputs import Vocabulary
from tierwise.messages.parse import route_request_from_body
from tierwise.messages.pinning import ConversationPins, needs_pinning
from tierwise.messages.sanitize import accepts_prefill, has_prefill, sanitize_for
from tierwise.messages.sessions import Sessions, SessionStep, continues_instruction, plan_step
from tierwise.messages.sizing import sized

_SPEC_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Routed:
    """One request, ready to go upstream, and why it goes where it goes."""

    body: dict[str, Any]  # what to send upstream: "model" set, hint metadata removed, sanitised
    model: str  # == body["model"]
    tier: Tier | None  # None for a model outside the catalog
    decision: Decision | None  # None when the request passed through without routing
    requested_model: str
    reason: str  # short, ASCII, at most 200 characters: for the x-tierwise-reason header
    adjustments: tuple[str, ...]  # what sanitising changed, e.g. "tool_choice any->auto for ..."
    pinned: bool  # the conversation was kept on the model that served it before
    conversation_key: str
    stream: bool
    api_version: str | None = None  # the request's anthropic-version, kept for retarget()
    session_id: str | None = None  # Claude Code's session (/agent) id, else the conversation key
    switch: str | None = None  # the session's decision (``sessions``: "tool-loop-stay", ...)
    switch_cache_cost_usd: Decimal | None = None  # the cache loss that switch paid or avoided
    source_body: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # ^ the caller's body minus hint metadata, before sanitising: what retarget() starts from
    request: RouteRequest | None = field(default=None, repr=False, compare=False)
    # ^ the routing view of the request (hints, turns, context size, judged text): for records
    vocabulary: Vocabulary | None = field(default=None, repr=False, compare=False)
    # ^ the words the policy looks for: the record keeps which were found, for replay


class MessagesRouter:
    """Routes Messages API requests: aliases, pass-through, rewrite mode, pinning, sanitising.

    ``pins`` defaults to a new in-memory ``ConversationPins``; share one between routers that
    serve the same conversations. Safe to share across threads (the router is pure and the pin
    store locks).
    """

    def __init__(
        self,
        router: Router,
        pins: ConversationPins | None = None,
        *,
        catalog: Catalog | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        self.router = router
        self.pins = pins if pins is not None else ConversationPins()
        self.sessions = sessions if sessions is not None else Sessions()
        self.catalog = catalog or default_catalog()
        self._specs: dict[str, ModelSpec | None] = {}

    @property
    def policy(self) -> Policy:
        """The policy routing follows."""
        return self.router.policy

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The policy's keyword phrases and definition markers, compiled once (for records)."""
        return Vocabulary.of(self.policy.config)

    def known_aliases(self) -> list[str]:
        """The model names that ask for routing."""
        return list(self.policy.config.aliases)

    def routes_model(self, model: str, limits: Sequence[Verdict] = ()) -> bool:
        """Whether ``route`` routes a request for ``model`` (``False``: it passes through).

        A budget ceiling (``limits``) below a concrete model's tier routes it as in rewrite
        mode: a budget is a promise, whichever model was named. Raises ``UnknownAliasError``
        for a model that is neither an alias nor a ``claude-*`` id.
        """
        if self.router.is_alias(model):
            return True
        if not model.startswith("claude-"):
            aliases = ", ".join(self.known_aliases())
            raise UnknownAliasError(
                f"model: {model!r} is neither a claude-* model id nor a routing alias; "
                f"the routing aliases are: {aliases}"
            )
        spec = self._spec(model)
        if spec is None:
            return False
        cap = limit_ceiling(limits)
        return self.policy.config.proxy.rewrite_concrete_models or (
            cap is not None and spec.line > cap
        )

    def route(
        self,
        body: Mapping[str, Any],
        hints: Hints,
        *,
        api_version: str | None = None,
        limits: Sequence[Verdict] = (),
        session: str | None = None,
        spans: BodySpans | None = None,
    ) -> Routed:
        """Where one ``POST /v1/messages`` body goes, and the body to send there.

        ``api_version`` is the request's ``anthropic-version`` header; ``limits`` are the
        budgets' verdicts (``BudgetGuard.check``); ``session`` is ``sessions.session_key`` of
        the headers; ``spans`` where ``body``'s values are in the bytes it was parsed from.
        Raises ``InputError`` for a body the API would reject, an unknown alias, or hints the
        policy does not know.
        """
        request = route_request_from_body(body, hints, spans=spans)
        return self._dispatch(body, request, api_version, limits, session)

    def route_count_tokens(
        self,
        body: Mapping[str, Any],
        hints: Hints,
        *,
        api_version: str | None = None,
        limits: Sequence[Verdict] = (),
        spans: BodySpans | None = None,
    ) -> Routed:
        """``route`` for a ``/v1/messages/count_tokens`` body (no ``max_tokens``): the count is
        taken on the model the same request would be sent to."""
        request = route_request_from_body(body, hints, require_max_tokens=False, spans=spans)
        return self._dispatch(body, request, api_version, limits)

    def refused(
        self, body: Mapping[str, Any], hints: Hints, reason: str, *, api_version: str | None = None
    ) -> Routed:
        """A request refused before routing (a spent budget): no decision, only the reason,
        so that its record and its ``x-tierwise-reason`` say why."""
        request = route_request_from_body(body, hints, require_max_tokens=False)
        return self._unrouted(body, request, header_safe(reason), api_version)

    def _unrouted(
        self,
        body: Mapping[str, Any],
        request: RouteRequest,
        reason: str,
        api_version: str | None,
        session_id: str | None = None,
    ) -> Routed:
        """A request that goes where it asked: refused before routing, or passed through."""
        requested = request.requested_model or ""
        forwarded = without_hint_metadata(body)
        spec = self._spec(requested) if requested.startswith("claude-") else None
        return Routed(
            body=forwarded,
            model=requested,
            tier=spec.line if spec is not None else None,
            decision=None,
            requested_model=requested,
            reason=reason,
            adjustments=(),
            pinned=False,
            conversation_key=request.conversation_key or "",
            stream=body.get("stream") is True,
            api_version=api_version,
            session_id=session_id,
            source_body=forwarded,
            request=request,
            vocabulary=self.vocabulary,
        )

    def route_request(
        self,
        body: Mapping[str, Any],
        request: RouteRequest,
        *,
        api_version: str | None = None,
        limits: Sequence[Verdict] = (),
        session: str | None = None,
    ) -> Routed:
        """``route`` for a request already parsed into ``request`` (replay builds it from a
        record, and passes a body carrying only what dispatch reads; the proxy re-decides with
        a token count, keeping the budgets' ``limits`` and ``session``)."""
        return self._dispatch(body, request, api_version, limits, session)

    def retarget(self, routed: Routed, model: str, *, api_version: str | None = None) -> Routed:
        """The same request aimed at ``model`` instead (a fallback), sanitised for it.

        Starts again from the caller's body, so a field adjusted for the first model is restored
        if the fallback accepts it. Going back to the model the caller named sends the caller's
        body unchanged. A prefill that ``model`` rejects is kept and reported in
        ``adjustments``; check ``can_retarget`` first to skip such fallbacks.
        """
        version = routed.api_version if api_version is None else api_version
        source = routed.source_body or routed.body
        sanitized = sanitize_for(source, model, api_version=version, catalog=self.catalog)
        adjustments = sanitized.adjustments
        if not self.can_retarget(routed, model):
            adjustments += (f"assistant prefill kept: {model} may reject it",)
        spec = self._spec(model)
        decision = routed.decision
        if decision is not None and spec is not None:
            note = f"fallback from {routed.model}"
            decision = _moved(decision, model, spec.line, Verdict("fallback", Action.DECIDE, note))
        return dataclasses.replace(
            routed,
            body=sanitized.body,
            model=model,
            tier=spec.line if spec is not None else None,
            decision=decision,
            reason=header_safe(f"fallback to {model} after {routed.model}; {routed.reason}"),
            adjustments=adjustments,
            pinned=False,
            api_version=version,
            source_body=source,
        )

    def can_retarget(self, routed: Routed, model: str) -> bool:
        """False when ``model`` would reject something tierwise never rewrites (a prefill)."""
        source = routed.source_body or routed.body
        if source.get("model") == model or not has_prefill(source):
            return True
        return accepts_prefill(model, self.catalog)

    def record_served(self, routed: Routed, served_model: str, usage: Usage | None = None) -> None:
        """Pin the conversation to the model that answered (call after a successful response),
        and update its session with the response's ``usage`` (what a later switch is priced by).

        Every served model is recorded; the pin is enforced only on later requests whose history
        would not survive a switch (see ``pinning.needs_pinning``).
        """
        if routed.conversation_key:
            self.pins.pin(routed.conversation_key, served_model)
        if routed.session_id and routed.session_id != routed.conversation_key:
            source = routed.source_body or routed.body
            new = not continues_instruction(source)
            self.sessions.served(routed.session_id, served_model, usage, new_instruction=new)

    # -- the decision ---------------------------------------------------------------------

    def _dispatch(
        self,
        body: Mapping[str, Any],
        request: RouteRequest,
        api_version: str | None,
        limits: Sequence[Verdict] = (),
        session: str | None = None,
    ) -> Routed:
        requested = request.requested_model or ""
        session_id = session or request.conversation_key or None
        forwarded = without_hint_metadata(body)
        ceiling: ModelSpec | None = None
        if not self.routes_model(requested, limits):
            return self._unrouted(body, request, "pass-through", api_version, session_id)
        if not self.router.is_alias(requested):
            ceiling = self._spec(requested)  # rewrite mode: the requested tier is the ceiling
        # the size decided with: the API's count if one was made, else the corrected estimate
        size = sized(request, self.policy.config.context.estimate_factor)
        cap = limit_ceiling(limits)
        decision = self._decide(size, limits)
        choice = self._choose(request, forwarded, decision, ceiling, cap, session)
        sanitized = sanitize_for(
            forwarded, choice.model, api_version=api_version, catalog=self.catalog
        )
        return Routed(
            body=sanitized.body,
            model=choice.model,
            tier=choice.tier,
            decision=choice.decision,
            requested_model=requested,
            reason=header_safe(with_limits(choice.reason, limits)),
            adjustments=sanitized.adjustments,
            pinned=choice.pinned,
            conversation_key=request.conversation_key or "",
            stream=body.get("stream") is True,
            api_version=api_version,
            session_id=session_id,
            switch=choice.step.switch if choice.step else None,
            switch_cache_cost_usd=choice.step.cache_cost_usd if choice.step else None,
            source_body=forwarded,
            request=request,
            vocabulary=self.vocabulary,
        )

    def _decide(self, request: RouteRequest, limits: Sequence[Verdict] = ()) -> Decision:
        """The router's decision; a request with no text to judge gets the default tier
        (under any budget ceiling)."""
        if request.text.strip():
            return self.router.decide(request, limits)
        policy = self.policy
        tier = policy.config.tiers.default
        cap = limit_ceiling(limits)
        if cap is not None and tier > cap:
            tier = max((t for t in policy.ladder if t <= cap), default=policy.ladder[0])
        model = policy.model_for(tier)
        reason = "no text to judge (attachments or tool results only): default tier"
        requested = request.requested_model
        baseline = (
            requested
            if requested and not self.router.is_alias(requested)
            else policy.model_for(policy.top_tier).id
        )
        max_tokens = policy.config.tiers.max_tokens.get(tier, DEFAULT_MAX_TOKENS)
        return Decision(
            model=model.id,
            tier=tier,
            max_tokens=min(max_tokens, model.max_output),
            reason=f"{reason} {tier.value}",
            trace=(Verdict("dispatch", Action.DECIDE, reason, tier=tier), *limits),
            baseline_model=baseline,
            context_tokens=request.context_tokens or 0,
        )

    def _choose(
        self,
        request: RouteRequest,
        body: Mapping[str, Any],
        decision: Decision,
        ceiling: ModelSpec | None,
        cap: Tier | None = None,
        session: str | None = None,
    ) -> _Choice:
        requested = request.requested_model or ""
        pinned = (
            None if session else self._enforced_pin(request.conversation_key, body, ceiling, cap)
        )
        if pinned is not None:
            why = (
                f"pinned to {pinned}: its history has thinking blocks or cache breakpoints "
                f"(routing chose {decision.tier.value})"
            )
            return self._stay(pinned, decision, Verdict("pinning", Action.DECIDE, why))
        if ceiling is None:
            choice = _Choice(decision.model, decision.tier, decision, decision.reason)
        elif decision.tier >= ceiling.line:
            above = "above" if decision.tier > ceiling.line else "at"
            why = (
                f"rewrite: kept {requested} (routing chose {decision.tier.value}, {above} its tier)"
            )
            verdict = Verdict("rewrite", Action.CEILING, why, tier=ceiling.line)
            moved = _moved(decision, requested, ceiling.line, verdict)
            choice = _Choice(requested, ceiling.line, moved, why)
        else:
            why = f"rewrite: {requested} -> {decision.model} ({decision.reason})"
            choice = _Choice(decision.model, decision.tier, decision, why)
        if choice.model != requested and has_prefill(body):
            choice = self._keep_prefill(choice, requested, ceiling)
        return self._in_session(session, body, choice, ceiling, cap) if session else choice

    def _in_session(
        self,
        key: str,
        body: Mapping[str, Any],
        choice: _Choice,
        ceiling: ModelSpec | None,
        cap: Tier | None,
    ) -> _Choice:
        """``choice`` as the session allows it: kept on the session's model in a tool loop or
        when a switch would not pay for its cache loss (``sessions.plan_step``)."""
        step = plan_step(
            self.sessions.get(key),
            body,
            choice.model,
            lambda model: spec.line.rank if (spec := self._spec(model)) else None,
            lambda model: self._may_stay(model, ceiling, cap),
            pin_thinking=not self.policy.config.proxy.allow_switch_pinned,
            catalog=self.catalog,
        )
        if step.stay is None or step.stay == choice.model:
            why = f"{choice.reason}; {step.note}" if step.note else choice.reason
            return dataclasses.replace(choice, reason=why, step=step)
        verdict = Verdict("session", Action.DECIDE, step.note)
        return dataclasses.replace(self._stay(step.stay, choice.decision, verdict), step=step)

    def _stay(self, model: str, decision: Decision, verdict: Verdict) -> _Choice:
        """A choice that keeps ``model`` (a pin or a session), whatever routing chose."""
        spec = self._spec(model)
        if spec is not None:
            decision = _moved(decision, model, spec.line, verdict)
        return _Choice(model, spec.line if spec else None, decision, verdict.reason, pinned=True)

    def _enforced_pin(
        self,
        key: str | None,
        body: Mapping[str, Any],
        ceiling: ModelSpec | None,
        cap: Tier | None = None,
    ) -> str | None:
        """The pinned model, if the pin holds: a switch would cost and the policy forbids it
        (a budget ceiling, ``cap``, outranks the pin)."""
        if not key or self.policy.config.proxy.allow_switch_pinned:
            return None
        pinned = self.pins.get(key)
        if pinned is None or not needs_pinning(body):
            return None
        return pinned if self._may_stay(pinned, ceiling, cap) else None

    def _may_stay(self, model: str, ceiling: ModelSpec | None, cap: Tier | None) -> bool:
        """Whether keeping ``model`` respects a budget ceiling (``cap``) and rewrite mode's
        ceiling (never above the model the caller named)."""
        if cap is None and ceiling is None:
            return True
        spec = self._spec(model)
        if spec is None:
            return False
        return (cap is None or spec.line <= cap) and (ceiling is None or spec.line <= ceiling.line)

    def _keep_prefill(self, choice: _Choice, requested: str, ceiling: ModelSpec | None) -> _Choice:
        """The closest model that continues an assistant prefill, if the chosen one rejects it."""
        if accepts_prefill(choice.model, self.catalog):
            return choice
        decided = choice.tier or self.policy.config.tiers.default
        candidates: list[tuple[Tier, str]] = [
            (tier, self.policy.model_for(tier).id)
            for tier in self.policy.ladder
            if (ceiling is None or tier < ceiling.line)
            and accepts_prefill(self.policy.model_for(tier).id, self.catalog)
        ]
        if ceiling is not None:
            candidates.append((ceiling.line, requested))  # the caller's own model is always safe
        if not candidates:
            why = f"{choice.reason}; no enabled tier accepts an assistant prefill: sent as is"
            return dataclasses.replace(choice, reason=why)
        tier, model = min(candidates, key=lambda c: (abs(c[0].rank - decided.rank), -c[0].rank))
        why = f"assistant prefill: {choice.model} rejects it, so {model}; {choice.reason}"
        decision = _moved(choice.decision, model, tier, Verdict("prefill", Action.DECIDE, why))
        return _Choice(model, tier, decision, why)

    def _spec(self, model: str) -> ModelSpec | None:
        """The catalog entry for ``model``, cached: a miss costs a fuzzy "did you mean" search."""
        try:
            return self._specs[model]
        except KeyError:
            pass
        try:
            spec: ModelSpec | None = self.catalog.get(model)
        except UnknownModelError:
            spec = None
        if len(self._specs) >= _SPEC_CACHE_SIZE:
            self._specs.clear()  # callers choose model names: keep the cache bounded
        self._specs[model] = spec
        return spec


@dataclass(frozen=True, slots=True)
class _Choice:
    model: str
    tier: Tier | None
    decision: Decision
    reason: str
    pinned: bool = False
    step: SessionStep | None = None


def _moved(decision: Decision, model: str, tier: Tier, verdict: Verdict) -> Decision:
    """``decision`` re-aimed at ``model``, with the reason it moved in its trace."""
    return dataclasses.replace(
        decision,
        model=model,
        tier=tier,
        reason=f"{decision.reason}; {verdict.reason}",
        trace=(*decision.trace, dataclasses.replace(verdict, tier=tier)),
    )
