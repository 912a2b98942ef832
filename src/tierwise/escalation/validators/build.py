"""From the policy's ``[escalation.validators]`` to the checks one request's answers get."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tierwise.core.errors import ConfigError
from tierwise.core.policy import Policy
from tierwise.core.policy_schema import ValidatorSpec
from tierwise.escalation.validators.base import AnswerCheck
from tierwise.escalation.validators.checks import (
    AnswerPredicate,
    CallableCheck,
    JsonParses,
    JsonSchema,
    NonEmpty,
    Regex,
    StopReason,
    ToolArgs,
)
from tierwise.escalation.validators.judge import JudgeCheck


@dataclass(frozen=True, slots=True)
class Checks:
    """The local checks of one request, and the judge if the policy asks for one."""

    local: tuple[AnswerCheck, ...]
    judge: JudgeCheck | None = None


def checks_for(
    policy: Policy,
    task_type: str | None,
    callables: Mapping[str, AnswerPredicate] | None = None,
) -> Checks:
    """The checks for a request of ``task_type``: ``"*"``'s, then the task type's own.

    ``callables`` are the Python checks the library client registered, by name; a policy that
    names one that is not registered is a ``ConfigError``. ``None`` (the proxy, which runs no
    Python of its callers) skips callable checks.
    """
    config = policy.config.escalation
    specs = [*config.validators.get("*", ()), *config.validators.get(task_type or "", ())]
    local: list[AnswerCheck] = []
    judge: JudgeCheck | None = None
    for spec in specs:
        if spec.kind == "callable" and callables is None:
            continue
        if spec.kind == "judge":
            model = policy.config.tiers.model_for(spec.tier)
            judge = JudgeCheck(model, config.judge_prompt, spec.threshold, spec.max_tokens)
        else:
            local.append(_local(spec, callables or {}))
    return Checks(tuple(local), judge)


def _local(spec: ValidatorSpec, callables: Mapping[str, AnswerPredicate]) -> AnswerCheck:
    match spec.kind:
        case "non_empty":
            return NonEmpty()
        case "stop_reason":
            return StopReason(tuple(spec.stop_reasons))
        case "json":
            return JsonParses()
        case "json_schema":
            assert spec.json_schema is not None  # the schema's validator requires it
            return JsonSchema(spec.json_schema)
        case "regex":
            assert spec.pattern is not None
            return Regex(spec.pattern, spec.must_match)
        case "tool_args":
            return ToolArgs()
        case _:
            name = spec.name or ""
            if name not in callables:
                known = ", ".join(sorted(callables)) or "none"
                raise ConfigError(
                    f"escalation.validators: callable {name!r} is not registered with the "
                    f"client (registered: {known})"
                )
            return CallableCheck(callables[name], name=f"callable:{name}")
