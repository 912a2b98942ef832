"""The routing pipeline: run the policy's strategies in order and combine their verdicts.

The first strategy to *decide* picks the tier; *floors* and *ceilings* from any strategy then
bound it (a ceiling wins over a floor: budgets and plans are promises). The tier is mapped to
an enabled tier and its model, and moved up if the model's context window cannot hold the
prompt. Every verdict is kept in the decision's trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from tierwise.core.catalog import ModelSpec
from tierwise.core.decision import Action, Decision, Verdict
from tierwise.core.errors import EmptyPromptError, InputError, PromptTooLargeError, TierwiseError
from tierwise.core.features import PromptFeatures
from tierwise.core.policy import Policy, default_policy
from tierwise.core.request import RouteRequest
from tierwise.core.strategies import FACTORIES, SoFar, Strategy, StrategyFactory, build_strategy
from tierwise.core.tiers import Tier

DEFAULT_MAX_TOKENS = 4096


class Router:
    """Decides which model serves a request, without any network call."""

    factories: ClassVar[Mapping[str, StrategyFactory]] = FACTORIES

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or default_policy()
        config = self.policy.config
        self._strategies: list[Strategy] = [
            build_strategy(n, config, self.factories) for n in config.strategies
        ]

    def is_alias(self, model: str | None) -> bool:
        """Whether ``model`` asks for routing (``auto`` by default) rather than naming a model."""
        return model is None or model in self.policy.config.aliases

    def decide(self, request: RouteRequest, limits: Sequence[Verdict] = ()) -> Decision:
        """The decision for one request; raises ``InputError`` for input that cannot be routed.

        ``limits`` are verdicts from outside the policy's strategies (budgets): they join the
        trace after the strategies' and bound the tier like any floor or ceiling.
        """
        self._check(request)
        return self.decide_with(request, PromptFeatures.of(request), limits)

    def decide_with(
        self, request: RouteRequest, features: PromptFeatures, limits: Sequence[Verdict] = ()
    ) -> Decision:
        """The decision for ``request`` given its already computed ``features`` (replay passes
        the features recorded with a request whose text was not kept)."""
        so_far = SoFar()
        trace: list[Verdict] = []
        decisive: Verdict | None = None
        floor_by: Verdict | None = None
        ceiling_by: Verdict | None = None
        for strategy in self._strategies:
            if so_far.tier is not None and strategy.only_decides:
                continue
            verdict = _evaluate(strategy, request, features, so_far)
            trace.append(verdict)
            if verdict.tier is None:
                continue
            if verdict.action is Action.DECIDE and so_far.tier is None:
                decisive = verdict
                so_far.tier = verdict.tier
                so_far.task_type = verdict.task_type
                so_far.max_tokens = verdict.max_tokens
            elif verdict.action is Action.FLOOR and (
                so_far.floor is None or verdict.tier > so_far.floor
            ):
                so_far.floor, floor_by = verdict.tier, verdict
            elif verdict.action is Action.CEILING and (
                so_far.ceiling is None or verdict.tier < so_far.ceiling
            ):
                so_far.ceiling, ceiling_by = verdict.tier, verdict
        for verdict in limits:
            trace.append(verdict)
            if (
                verdict.action is Action.CEILING
                and verdict.tier is not None
                and (so_far.ceiling is None or verdict.tier < so_far.ceiling)
            ):
                so_far.ceiling, ceiling_by = verdict.tier, verdict
        return self._resolve(request, features, so_far, trace, decisive, floor_by, ceiling_by)

    def _check(self, request: RouteRequest) -> None:
        if not request.text or not request.text.strip():
            raise EmptyPromptError("the prompt is empty: there is nothing to route")
        limit = self.policy.config.limits.max_prompt_chars
        if len(request.text) > limit:
            raise PromptTooLargeError(
                f"the prompt has {len(request.text):,} characters, over the limit of {limit:,} "
                "(limits.max_prompt_chars)"
            )
        if request.context_tokens is not None and request.context_tokens < 0:
            raise InputError(f"context_tokens must not be negative, got {request.context_tokens}")

    def _resolve(
        self,
        request: RouteRequest,
        features: PromptFeatures,
        so_far: SoFar,
        trace: list[Verdict],
        decisive: Verdict | None,
        floor_by: Verdict | None,
        ceiling_by: Verdict | None,
    ) -> Decision:
        policy = self.policy
        tier = so_far.tier or policy.config.tiers.default
        reasons = [decisive.describe() if decisive else f"default tier {tier.value}"]
        if so_far.floor is not None and floor_by is not None and tier < so_far.floor:
            tier = so_far.floor
            reasons.append(f"raised to {tier.value} by {floor_by.strategy} ({floor_by.reason})")
        if so_far.ceiling is not None and ceiling_by is not None and tier > so_far.ceiling:
            tier = so_far.ceiling
            reasons.append(f"capped at {tier.value} by {ceiling_by.strategy} ({ceiling_by.reason})")
        raised = floor_by is not None and tier == so_far.floor
        tier = _nearest_enabled(tier, policy.ladder, prefer_up=raised)
        tier, window_note = self._fit_window(tier, features.context_tokens)
        if window_note is not None:
            trace.append(window_note)
            reasons.append(window_note.reason)
        model = policy.model_for(tier)
        max_tokens = so_far.max_tokens or policy.config.tiers.max_tokens.get(
            tier, DEFAULT_MAX_TOKENS
        )
        return Decision(
            model=model.id,
            tier=tier,
            max_tokens=min(max_tokens, model.max_output),
            reason="; ".join(reasons),
            trace=tuple(trace),
            baseline_model=self._baseline(request),
            task_type=so_far.task_type,
            score=decisive.score if decisive else None,  # a scoring strategy's (learned)
            context_tokens=features.context_tokens,
            features=features,
        )

    def _fit_window(self, tier: Tier, tokens: int) -> tuple[Tier, Verdict | None]:
        """Move up the ladder until the model's context window holds the prompt."""
        policy = self.policy
        if policy.model_for(tier).context_window >= tokens:
            return tier, None
        for candidate in policy.ladder:
            if candidate > tier and policy.model_for(candidate).context_window >= tokens:
                return candidate, Verdict(
                    "window",
                    Action.FLOOR,
                    f"~{tokens:,} prompt tokens exceed {policy.model_for(tier).id}'s window; "
                    f"moved to {candidate.value}",
                    tier=candidate,
                )
        largest = max(policy.ladder, key=lambda t: policy.model_for(t).context_window)
        return largest, Verdict(
            "window",
            Action.FLOOR,
            f"~{tokens:,} prompt tokens exceed every enabled model's window; "
            f"sent to the largest ({_window(policy.model_for(largest))})",
            tier=largest,
        )

    def _baseline(self, request: RouteRequest) -> str:
        """The model the caller would have used: the one they named, else the top tier's."""
        if request.requested_model and not self.is_alias(request.requested_model):
            return request.requested_model
        return self.policy.model_for(self.policy.top_tier).id


def _evaluate(
    strategy: Strategy, request: RouteRequest, features: PromptFeatures, so_far: SoFar
) -> Verdict:
    """Run one strategy; a bug or outage in a strategy passes instead of failing the request."""
    try:
        return strategy.evaluate(request, features, so_far)
    except TierwiseError:
        raise
    except Exception as exc:  # routing never breaks a request
        return Verdict(strategy.name, Action.PASS, f"failed ({type(exc).__name__}: {exc}); ignored")


def _nearest_enabled(tier: Tier, ladder: list[Tier], *, prefer_up: bool = False) -> Tier:
    """``tier`` if enabled, else the closest enabled tier below it (above it when a floor put
    it there: a floor is a minimum), else whichever side has one."""
    if tier in ladder:
        return tier
    below = [t for t in ladder if t < tier]
    above = [t for t in ladder if t > tier]
    if prefer_up and above:
        return above[0]
    return below[-1] if below else above[0]


def _window(model: ModelSpec) -> str:
    return f"{model.id}, {model.context_window:,} tokens"
