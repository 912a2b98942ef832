"""What every command shares: the consoles, the common options, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from tierwise.core.errors import TierwiseError
from tierwise.core.policy import Policy, load_policy

_typer_option_type = typer.core.TyperOption.display_type_rich


def _flag_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """No type column for an on/off flag (typer's rich help shows ``--json <bool>``, as if it
    took a value)."""
    return None if self.is_flag else _typer_option_type(self, ctx)


typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")

PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="Policy TOML file (default: the shipped policy).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn tierwise errors into one clear line and exit code 2."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TierwiseError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def policy_from(path: Path | None) -> Policy:
    """The policy at ``path`` (the shipped one for ``None``), its warnings printed."""
    policy = load_policy(path)
    for warning in policy.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    return policy
