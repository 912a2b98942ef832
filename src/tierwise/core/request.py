"""The request routing judges: a frozen value parsed once from a Messages body or a CLI call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """Everything routing may look at, parsed once from a request or a CLI call.

    ``text`` is the task to judge (for a Messages request: the latest user turn's text).
    ``context_tokens`` is the size of the whole prompt the model will read (system, history,
    tools, attachments); when ``None`` it is estimated from ``text`` and ``system``. It decides
    whether a window holds the prompt. ``task_tokens`` is what the task itself must read (the
    conversation, tool results, attachments, without an agent client's fixed system prompt and
    tool definitions); it decides how deep a reader the task needs (``None``: the same as
    ``context_tokens``). ``background`` marks a client's housekeeping call (a session title,
    a summary), not a task the person asked for.
    """

    text: str
    system: str = ""
    task_type: str | None = None
    domain: str | None = None
    user_tier: str | None = None
    context_tokens: int | None = None
    requested_model: str | None = None
    conversation_key: str | None = None
    turns: int = 1
    task_tokens: int | None = None
    background: bool = False
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
