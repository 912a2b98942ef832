"""The local checks: non-empty, stop reason, JSON, JSON Schema, regex, tool arguments, callable.

JSON checks accept the answer's text as it is or inside one fenced block (```json ... ```),
since models often fence JSON even when asked not to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tierwise.core.errors import ConfigError
from tierwise.escalation.validators.base import CheckResult, answer_text

if TYPE_CHECKING:
    from jsonschema.protocols import Validator as SchemaValidator

AnswerPredicate = Callable[[Mapping[str, Any], Mapping[str, Any]], "bool | CheckResult"]
"""A Python check for the library client: ``(answer, request) -> bool`` (or a ``CheckResult``)."""

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)
_REASON_LIMIT = 160


@dataclass(frozen=True, slots=True)
class NonEmpty:
    """Fails an answer with no text and no tool call."""

    name: str = "non_empty"

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        content = answer.get("content")
        tools = isinstance(content, list) and any(
            isinstance(b, Mapping) and b.get("type") == "tool_use" for b in content
        )
        if tools or answer_text(answer).strip():
            return CheckResult(self.name, True, "has content")
        return CheckResult(self.name, False, "the answer is empty")


@dataclass(frozen=True, slots=True)
class StopReason:
    """Fails an answer that stopped for one of ``bad`` reasons (cut off, refused)."""

    bad: tuple[str, ...] = ("max_tokens", "refusal")
    name: str = "stop_reason"

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        reason = answer.get("stop_reason")
        if reason in self.bad:
            return CheckResult(self.name, False, f"stop_reason is {reason}")
        return CheckResult(self.name, True, f"stop_reason is {reason}")


def parse_json(text: str) -> Any:
    """The JSON in ``text`` (bare or in one fenced block); ``ValueError`` if there is none."""
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


@dataclass(frozen=True, slots=True)
class JsonParses:
    """Fails an answer whose text is not JSON."""

    name: str = "json"

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        try:
            parse_json(answer_text(answer))
        except ValueError as exc:
            return CheckResult(self.name, False, _short(f"not JSON: {exc}"))
        return CheckResult(self.name, True, "parses as JSON")


@dataclass(frozen=True)
class JsonSchema:
    """Fails an answer whose JSON does not match ``schema`` (checked with ``jsonschema``)."""

    schema: Mapping[str, Any]
    name: str = "json_schema"
    _validator: SchemaValidator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_validator", schema_validator(self.schema, "json_schema"))

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        try:
            data = parse_json(answer_text(answer))
        except ValueError as exc:
            return CheckResult(self.name, False, _short(f"not JSON: {exc}"))
        error = _first_error(self._validator, data)
        if error is not None:
            return CheckResult(self.name, False, _short(f"does not match the schema: {error}"))
        return CheckResult(self.name, True, "matches the schema")


@dataclass(frozen=True)
class Regex:
    """Fails unless ``pattern`` is found in the text (or, with ``must_match=False``, is not)."""

    pattern: str
    must_match: bool = True
    name: str = "regex"

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        found = re.search(self.pattern, answer_text(answer)) is not None
        verb = "found" if found else "not found"
        return CheckResult(self.name, found == self.must_match, _short(f"/{self.pattern}/ {verb}"))


@dataclass(frozen=True, slots=True)
class ToolArgs:
    """Fails when a tool call names no tool of the request or its input breaks the schema."""

    name: str = "tool_args"

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        tools = {
            tool.get("name"): tool.get("input_schema")
            for tool in request.get("tools") or ()
            if isinstance(tool, Mapping)
        }
        calls = [
            block
            for block in answer.get("content") or ()
            if isinstance(block, Mapping) and block.get("type") == "tool_use"
        ]
        for call in calls:
            tool = call.get("name")
            if tool not in tools:
                return CheckResult(self.name, False, _short(f"calls unknown tool {tool!r}"))
            schema = tools[tool]
            if isinstance(schema, Mapping):
                error = _first_error(schema_validator(schema, f"tool {tool}"), call.get("input"))
                if error is not None:
                    return CheckResult(self.name, False, _short(f"{tool}: {error}"))
        return CheckResult(self.name, True, f"{len(calls)} tool call(s) valid")


@dataclass(frozen=True)
class CallableCheck:
    """A Python function registered with the library client under ``name``."""

    function: AnswerPredicate
    name: str = "callable"

    def check(self, answer: Mapping[str, Any], request: Mapping[str, Any]) -> CheckResult:
        try:
            result = self.function(answer, request)
        except Exception as exc:  # the caller's code: its failure fails the check, not the call
            return CheckResult(self.name, False, _short(f"raised {type(exc).__name__}: {exc}"))
        if isinstance(result, CheckResult):
            return result
        return CheckResult(self.name, bool(result), "returned " + str(bool(result)))


def schema_validator(schema: Mapping[str, Any], where: str) -> SchemaValidator:
    """A ``jsonschema`` validator for ``schema``; ``ConfigError`` naming ``where`` if invalid."""
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - an optional extra
        raise ConfigError(
            "JSON Schema validators need jsonschema: pip install 'tierwise[validators]'"
        ) from exc
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"{where}: not a valid JSON Schema: {exc.message}") from None
    validator: SchemaValidator = cls(dict(schema))
    return validator


def _first_error(validator: SchemaValidator, data: Any) -> str | None:
    error = next(iter(validator.iter_errors(data)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def _short(text: str) -> str:
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 3] + "..."


def run_checks(
    checks: Sequence[Any], answer: Mapping[str, Any], request: Mapping[str, Any]
) -> list[CheckResult]:
    """Every check's verdict, in order (all run, so the record shows each)."""
    return [check.check(answer, request) for check in checks]
