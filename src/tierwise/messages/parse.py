"""A Messages API request body, parsed once into the ``RouteRequest`` routing reads.

This runs on every proxied request, so it makes one pass over the body, copies nothing, and
checks only the fields routing must read (``model``, ``messages`` and each message's
``content``, ``max_tokens``, ``system``), each in a way the API itself would also refuse (the
messages say what is wrong in the API's own words, e.g. ``messages: Field required``). It is
never stricter than the API: roles, block types and fields it does not know pass through for
the API to judge (``role: "system"`` messages, which Claude Code sends, included).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tierwise.core.errors import InputError
from tierwise.core.request import RouteRequest
from tierwise.core.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_text_tokens
from tierwise.messages.body_bytes import BodySpans
from tierwise.messages.clients import with_client_view
from tierwise.messages.pinning import conversation_key

if TYPE_CHECKING:
    from tierwise.messages.hints import Hints

IMAGE_TOKENS = 1_600  # an image of ~1.15 megapixels, the size the API scales larger ones down to
DOCUMENT_TOKENS = 3_000  # a PDF of a page or two; routing needs the order of magnitude only
TOOL_OVERHEAD_TOKENS = 16


def route_request_from_body(
    body: Mapping[str, Any],
    hints: Hints,
    *,
    require_max_tokens: bool = True,
    spans: BodySpans | None = None,
) -> RouteRequest:
    """The routing view of a Messages body; ``InputError`` for a body the API would reject.

    ``text`` is what routing judges: the latest user turn's text blocks plus the text of its
    ``tool_result`` blocks, in order. When the latest user turn is *only* tool results (an agent
    loop feeding back tool output), the latest user turn with real text is judged instead: the
    task is still the one the user asked for, so every step of one agent loop routes alike.
    ``context_tokens`` estimates everything the model reads: system, every message (tool inputs
    serialised), tool definitions, and a fixed allowance per image or document.
    A ``role: "system"`` message (SDK 2.10's ``SystemMessageParam``) is instruction from the
    application, not from the human: its text joins ``system`` and is never judged. Any other
    role the API may add later counts toward the context only.
    ``require_max_tokens=False`` parses a ``count_tokens`` body, which has no ``max_tokens``.
    ``spans`` (the proxy's: where the body's values are in the caller's bytes) lets the tool
    definitions be counted from the JSON text they arrived as, not encoded again.
    """
    if not isinstance(body, Mapping):
        raise InputError("The request body must be a JSON object")
    model = _check_top_level(body, require_max_tokens)
    messages: list[Any] = body["messages"]
    system = _system_text(body.get("system"))
    tokens = estimate_text_tokens(system, model) + MESSAGE_OVERHEAD_TOKENS if system else 0
    judged = ""
    tool_only = ""
    turns = 0
    instructions: list[str] = []  # role:system messages' text, newest first
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if not isinstance(message, Mapping):
            raise InputError(f"messages.{index}: Input should be a valid dictionary")
        role = message.get("role")
        content = message.get("content")
        if not isinstance(content, str | list):
            raise InputError(f"messages.{index}.content: Input should be a valid string or list")
        tokens += _content_tokens(content, model) + MESSAGE_OVERHEAD_TOKENS
        if role == "system":
            instructions.append(content if isinstance(content, str) else _nested_text(content))
            continue
        if role != "user":
            continue
        turns += 1
        if judged:
            continue
        if isinstance(content, str):
            judged = content
            continue
        text, tool_text = _user_texts(content)
        if text.strip():
            judged = f"{text}\n\n{tool_text}" if tool_text else text
        elif tool_text and not tool_only:
            tool_only = tool_text
    tools = body.get("tools")
    tools_text_tokens = _tools_text_tokens(tools, model, spans)
    tool_count = len(tools) if isinstance(tools, list) else 0
    tokens += tools_text_tokens + TOOL_OVERHEAD_TOKENS * tool_count
    system = "\n".join(part for part in (system, *reversed(instructions)) if part)
    request = RouteRequest(
        text=judged or tool_only,
        system=system,
        task_type=hints.task_type,
        domain=hints.domain,
        user_tier=hints.user_tier,
        context_tokens=tokens,
        requested_model=model,
        conversation_key=conversation_key(body, spans),
        turns=max(turns, 1),
    )
    # agent clients: the person's words, not the envelope (the tools are counted once, here)
    return with_client_view(request, body, tools_tokens=tools_text_tokens)


def _check_top_level(body: Mapping[str, Any], require_max_tokens: bool) -> str:
    model = body.get("model")
    if model is None:
        raise InputError("model: Field required")
    if not isinstance(model, str):
        raise InputError("model: Input should be a valid string")
    messages = body.get("messages")
    if messages is None:
        raise InputError("messages: Field required")
    if not isinstance(messages, list):
        raise InputError("messages: Input should be a valid list")
    if not messages:
        raise InputError("messages: at least one message is required")
    if require_max_tokens:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise InputError("max_tokens: Field required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise InputError("max_tokens: Input should be a valid integer")
        if max_tokens < 0:
            raise InputError("max_tokens: Input should be greater than or equal to 0")
    return model


def _system_text(system: Any) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    if not isinstance(system, list):
        raise InputError("system: Input should be a valid string or list")
    return "\n".join(
        block["text"]
        for block in system
        if isinstance(block, Mapping) and isinstance(block.get("text"), str)
    )


def _user_texts(blocks: list[Any]) -> tuple[str, str]:
    """The text blocks' text and the tool results' text of one user turn."""
    texts: list[str] = []
    tool_texts: list[str] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_result":
            tool_texts.append(_nested_text(block.get("content")))
    return "\n".join(t for t in texts if t), "\n".join(t for t in tool_texts if t)


def _nested_text(content: Any) -> str:
    """The text inside a tool result (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        block["text"]
        for block in content
        if isinstance(block, Mapping) and isinstance(block.get("text"), str)
    )


def _content_tokens(content: str | list[Any], model: str) -> int:
    if isinstance(content, str):
        return estimate_text_tokens(content, model)
    return sum(_block_tokens(block, model) for block in content)


def _block_tokens(block: Any, model: str) -> int:
    """What one content block costs the model to read (estimates; attachments by allowance)."""
    if isinstance(block, str):
        return estimate_text_tokens(block, model)
    if not isinstance(block, Mapping):
        return 0
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return estimate_text_tokens(text, model) if isinstance(text, str) else 0
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source")
        data = source.get("data") if isinstance(source, Mapping) else None
        if isinstance(data, str) and isinstance(source, Mapping) and source.get("type") == "text":
            return estimate_text_tokens(data, model)
        return DOCUMENT_TOKENS
    if kind in ("tool_use", "server_tool_use"):
        return estimate_text_tokens(_dumps(block.get("input")), model)
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return estimate_text_tokens(content, model)
        if isinstance(content, list):
            return sum(_block_tokens(item, model) for item in content)
        return 0
    if kind == "thinking":
        thinking = block.get("thinking")
        return estimate_text_tokens(thinking, model) if isinstance(thinking, str) else 0
    if kind == "redacted_thinking":
        return 0  # encrypted reasoning the API decrypts; its size says nothing useful here
    return estimate_text_tokens(_dumps({k: v for k, v in block.items() if k != "cache_control"}))


def _tools_text_tokens(tools: Any, model: str, spans: BodySpans | None = None) -> int:
    """The tool definitions' own tokens, without the per-tool overhead (a client's envelope)."""
    if not isinstance(tools, list):
        return 0
    arrived = spans.text_of("tools", tools) if spans is not None else None
    if arrived is not None:  # an agent's forty tools are most of its body: count them as sent
        return estimate_text_tokens(arrived, model)
    return sum(estimate_text_tokens(_dumps(tool), model) for tool in tools)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
