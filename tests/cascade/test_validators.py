"""The local answer checks, and the policy's validator section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tierwise.core.errors import ConfigError, PolicyError
from tierwise.escalation.classifier import CircuitBreaker
from tierwise.escalation.validators.checks import JsonSchema, Regex, ToolArgs

from .conftest import policy_with


def _text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}


def test_json_schema_names_the_failing_field() -> None:
    check = JsonSchema(
        {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    )
    assert check.check(_text('{"id": 3}'), {}).passed
    failed = check.check(_text('{"id": "x"}'), {})
    assert not failed.passed
    assert "id:" in failed.reason
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        JsonSchema({"type": 12})


def test_regex_must_match_or_must_not() -> None:
    assert Regex(r"\bTODO\b", must_match=False).check(_text("done"), {}).passed
    assert not Regex(r"\bTODO\b", must_match=False).check(_text("a TODO left"), {}).passed


def test_tool_arguments_are_checked_against_the_tools_schema() -> None:
    request = {
        "tools": [
            {
                "name": "get_weather",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }
        ]
    }

    def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "tool_use", "id": "t", "name": name, "input": args}]}

    assert ToolArgs().check(call("get_weather", {"city": "Paris"}), request).passed
    missing = ToolArgs().check(call("get_weather", {}), request)
    assert not missing.passed
    assert "city" in missing.reason
    assert not ToolArgs().check(call("get_time", {}), request).passed


def test_the_policy_refuses_validators_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="needs pattern"):
        policy_with(tmp_path, '[escalation.validators]\n"*" = [{ kind = "regex" }]\n')
    with pytest.raises(PolicyError, match="no route"):
        policy_with(tmp_path, '[escalation.validators]\nnope = [{ kind = "json" }]\n')
    with pytest.raises(PolicyError, match="must contain"):
        policy_with(tmp_path, '[classifier]\nprompt = "grade this"\n')


def test_a_failed_half_open_trial_opens_the_circuit_again() -> None:
    now = [0.0]
    breaker = CircuitBreaker(2, 10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow()
    now[0] = 10
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # and only one at a time
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 20
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
