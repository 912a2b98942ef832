"""``tierwise policy show``: the shipped default policy, or a policy with what it extends."""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer

from tierwise.cli.console import one_line_errors

policy_app = typer.Typer(
    name="policy",
    help="Policies: see what the shipped default decides, or what a policy file resolves to.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@policy_app.command()
@one_line_errors
def show(
    path: Annotated[
        Path | None,
        typer.Argument(help="A policy file (default: print the shipped default policy)."),
    ] = None,
) -> None:
    """Print a policy as TOML: the shipped default as written, or PATH with everything it
    extends merged in (the settings tierwise would run with)."""
    from tierwise.core.policy import default_policy_text, resolved_data

    if path is None:
        sys.stdout.write(default_policy_text())
        return
    sys.stdout.write(f"# {path}, resolved: what it extends merged in\n")
    sys.stdout.write(to_toml(resolved_data(path)))


def to_toml(data: dict[str, Any]) -> str:
    """``data`` (as ``tomllib`` reads it) written back as TOML."""
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(data: dict[str, Any], path: list[str], lines: list[str]) -> None:
    simple = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    if path and (simple or not data):
        lines.extend(["", f"[{_dotted(path)}]"])
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in simple.items())
    for key, value in data.items():
        if _is_table(value):
            _table(value, [*path, key], lines)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{_dotted([*path, key])}]]"])
                inner = [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
                lines.extend(inner)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _dotted(path: list[str]) -> str:
    return ".".join(_key(part) for part in path)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
