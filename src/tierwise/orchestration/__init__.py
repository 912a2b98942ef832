"""Orchestrator-worker: a strong model plans as JSON, the policy routes each subtask."""

from tierwise.orchestration.plan import Plan, PlanError, Subtask, parse_plan
from tierwise.orchestration.run import Orchestration, Step, aorchestrate, orchestrate

__all__ = [
    "Orchestration",
    "Plan",
    "PlanError",
    "Step",
    "Subtask",
    "aorchestrate",
    "orchestrate",
    "parse_plan",
]
