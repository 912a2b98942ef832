"""Turn a ``Reply`` and the request it answers into a message: content, stop reason, usage.

The default text names the model and echoes the start of the prompt, so a test (or the demo)
can see at a glance which model answered what. Text obeys ``stop_sequences`` and is cut to
``max_tokens`` (stop reason ``max_tokens``) so output usage never exceeds what was allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tierwise.testing.behaviours import Reply
from tierwise.testing.tokens import content_tokens, input_tokens, text_tokens, truncate_to_tokens
from tierwise.testing.wire import new_id

ECHO_WORDS = 12


@dataclass(frozen=True, slots=True)
class Generated:
    """Everything a response needs except its id: the same for JSON and for a stream."""

    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    stop_details: dict[str, Any] | None
    usage: dict[str, Any]


def generate(reply: Reply, body: Mapping[str, Any]) -> Generated:
    """What the fake "model" answers to ``body`` when told to ``reply``."""
    max_tokens: int = body["max_tokens"]
    stop_sequence: str | None = None
    if reply.content is not None:
        content = [_complete_block(block) for block in reply.content]
        has_tool = any(block.get("type") == "tool_use" for block in content)
        stop_reason = "tool_use" if has_tool else "end_turn"
        output = min(content_tokens(content), max_tokens)
    else:
        text = reply.text if reply.text is not None else default_text(body)
        text, stop_sequence = _apply_stop_sequences(text, body.get("stop_sequences") or ())
        stop_reason = "stop_sequence" if stop_sequence is not None else "end_turn"
        if text_tokens(text) > max_tokens:
            text, stop_reason, stop_sequence = (
                truncate_to_tokens(text, max_tokens),
                "max_tokens",
                None,
            )
        content = [{"type": "text", "text": text}] if text or stop_reason != "max_tokens" else []
        output = text_tokens(text)
    return Generated(
        content=content,
        stop_reason=reply.stop_reason or stop_reason,
        stop_sequence=stop_sequence,
        stop_details=dict(reply.stop_details) if reply.stop_details is not None else None,
        usage=_usage(input_tokens(body), output, reply.usage or {}),
    )


def default_text(body: Mapping[str, Any]) -> str:
    """``[model] ok: <first words of the last user turn>``."""
    words = _last_user_text(body.get("messages") or []).split()
    echo = " ".join(words[:ECHO_WORDS]) + (" …" if len(words) > ECHO_WORDS else "")
    return f"[{body['model']}] ok: {echo or '(no text)'}"


def message_json(generated: Generated, model: str, message_id: str) -> dict[str, Any]:
    """The non-streaming response body."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": generated.content,
        "stop_reason": generated.stop_reason,
        "stop_sequence": generated.stop_sequence,
        "stop_details": generated.stop_details,
        "container": None,
        "diagnostics": None,
        "usage": generated.usage,
    }


def _usage(input_count: int, output: int, override: Mapping[str, Any]) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": input_count,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output,
        "service_tier": "standard",
    }
    usage.update(override)
    if "cache_creation_input_tokens" in override and "cache_creation" not in override:
        written = override["cache_creation_input_tokens"]
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": written,
            "ephemeral_1h_input_tokens": 0,
        }
    return usage


def _complete_block(block: Mapping[str, Any]) -> dict[str, Any]:
    completed = dict(block)
    if completed.get("type") == "tool_use":
        completed.setdefault("id", new_id("toolu"))
        completed.setdefault("input", {})
    return completed


def _apply_stop_sequences(text: str, stops: Any) -> tuple[str, str | None]:
    hits = [
        (text.find(stop), stop) for stop in stops if isinstance(stop, str) and stop and stop in text
    ]
    if not hits:
        return text, None
    position, stop = min(hits)
    return text[:position], stop


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [b.get("text", "") for b in content if isinstance(b, dict)]
                return " ".join(t for t in texts if isinstance(t, str))
    return ""
