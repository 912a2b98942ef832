"""Explicit hints: a task type (the routing table), a domain, or a user tier."""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.decision import Action, Verdict
from tierwise.core.errors import UnknownTaskTypeError, UnknownTierError
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import Route, UserTierRule
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar
from tierwise.core.tiers import Tier


@dataclass(frozen=True)
class TaskTypeStrategy:
    """Routes by an explicit task type, looked up in the routing table."""

    routes: dict[str, Route]
    name: str = "task_type"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        task_type = request.task_type
        if task_type is None:
            return Verdict(self.name, Action.PASS, "no task type given")
        route = self.routes.get(task_type.strip().lower())
        if route is None:
            known = ", ".join(sorted(self.routes))
            raise UnknownTaskTypeError(f"unknown task type {task_type!r}; known: {known}")
        return Verdict(
            self.name,
            Action.DECIDE,
            f"task type {task_type!r} is routed to {route.tier.value}",
            tier=route.tier,
            task_type=task_type.strip().lower(),
            max_tokens=route.max_tokens,
        )


@dataclass(frozen=True)
class DomainStrategy:
    """Routes by code domain (frontend, database, security...)."""

    domains: dict[str, Tier]
    name: str = "domain"
    only_decides: bool = True

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        domain = request.domain
        if domain is None:
            return Verdict(self.name, Action.PASS, "no domain given")
        tier = self.domains.get(domain.strip().lower())
        if tier is None:
            return Verdict(self.name, Action.PASS, f"domain {domain!r} is not in the domain table")
        return Verdict(
            self.name, Action.DECIDE, f"domain {domain!r} is routed to {tier.value}", tier=tier
        )


@dataclass(frozen=True)
class UserTierStrategy:
    """Bounds the tier by the caller's plan: free users cheap, enterprise users never cheapest."""

    user_tiers: dict[str, UserTierRule]
    name: str = "user_tier"
    only_decides: bool = False

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        user_tier = request.user_tier
        if user_tier is None:
            return Verdict(self.name, Action.PASS, "no user tier given")
        rule = self.user_tiers.get(user_tier.strip().lower())
        if rule is None:
            known = ", ".join(sorted(self.user_tiers))
            raise UnknownTierError(f"unknown user tier {user_tier!r}; known: {known}")
        # A plan's ceiling is a promise: it is emitted even when the tier so far is within it,
        # so that a later floor (e.g. context size) cannot lift the request above it.
        below_floor = (
            rule.floor is not None and so_far.tier is not None and so_far.tier < rule.floor
        )
        if rule.ceiling is not None and not below_floor:
            return Verdict(
                self.name,
                Action.CEILING,
                f"{user_tier} users are served at most by {rule.ceiling.value}",
                tier=rule.ceiling,
            )
        if rule.floor is not None:
            return Verdict(
                self.name,
                Action.FLOOR,
                f"{user_tier} users are served at least by {rule.floor.value}",
                tier=rule.floor,
            )
        return Verdict(self.name, Action.PASS, f"{user_tier} users have no bounds")
