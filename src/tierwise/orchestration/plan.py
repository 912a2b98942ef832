"""The orchestrator's plan: JSON subtasks, validated with pydantic before anything runs."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tierwise.core.errors import InputError

PLAN_PROMPT = (
    "You plan work for cheaper models. Split the task into at most {max_subtasks} independent, "
    "self-contained subtasks. Reply with JSON only, no prose:\n"
    '{{"subtasks": [{{"id": "s1", "task": "...", "depends_on": []}}, ...]}}\n'
    "A subtask lists in depends_on the ids whose results it needs; keep that list empty "
    "where you can, so subtasks run in parallel."
)
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n?```", re.DOTALL)


class PlanError(InputError):
    """The orchestrator's plan is not valid JSON of the expected shape (says which field)."""


class Subtask(BaseModel):
    """One piece of the work, routed by the policy like any request."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    task: str = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """The subtasks, ids unique, dependencies known and acyclic."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subtasks: list[Subtask] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        ids = [s.id for s in self.subtasks]
        if len(set(ids)) != len(ids):
            raise ValueError("subtask ids must be unique")
        for subtask in self.subtasks:
            for dep in subtask.depends_on:
                if dep not in ids:
                    raise ValueError(f"subtask {subtask.id!r} depends on unknown {dep!r}")
        self.waves()  # raises on a cycle
        return self

    def waves(self) -> list[list[Subtask]]:
        """The subtasks in rounds: each round's subtasks depend only on earlier rounds."""
        done: set[str] = set()
        left = list(self.subtasks)
        rounds: list[list[Subtask]] = []
        while left:
            ready = [s for s in left if set(s.depends_on) <= done]
            if not ready:
                raise ValueError("subtask dependencies form a cycle")
            rounds.append(ready)
            done |= {s.id for s in ready}
            left = [s for s in left if s.id not in done]
        return rounds


def parse_plan(text: str, max_subtasks: int) -> Plan:
    """The plan in ``text`` (bare JSON or one fenced block); ``PlanError`` naming the problem."""
    fenced = _FENCE.search(text)
    raw = fenced.group(1) if fenced else text.strip()
    try:
        plan = Plan.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "plan"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PlanError(f"the plan is invalid: {where}: {message}") from None
    if len(plan.subtasks) > max_subtasks:
        raise PlanError(
            f"the plan is invalid: subtasks: {len(plan.subtasks)} is over the limit of "
            f"{max_subtasks}"
        )
    return plan
