"""The fake server's token counts: deterministic, simple, and deliberately not tierwise's own.

The real API counts with a tokenizer nobody has offline, so tierwise estimates. The fake plays
the API's part with a different rule (3.5 characters per token, rounded up, plus a small frame
per message and per tool) so that tests see an estimate and a "real" count that disagree a
little, as they will in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

MESSAGE_OVERHEAD = 3  # role markers and turn framing
TOOL_OVERHEAD = 8  # the tool-use preamble the API adds per tool definition
SYSTEM_OVERHEAD = 2


def text_tokens(text: str) -> int:
    """Tokens for ``text``: ceil(chars / 3.5), so 0 for the empty string."""
    return (2 * len(text) + 6) // 7


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` that costs at most ``max_tokens`` tokens."""
    return text[: max(0, max_tokens) * 7 // 2]


def input_tokens(body: Mapping[str, Any]) -> int:
    """Input tokens for a Messages (or count_tokens) body: system, messages and tools."""
    total = 0
    if body.get("system"):
        total += SYSTEM_OVERHEAD + text_tokens("".join(_texts(body["system"])))
    for message in _listed(body.get("messages")):
        content = message.get("content", "") if isinstance(message, Mapping) else message
        total += MESSAGE_OVERHEAD + text_tokens("".join(_texts(content)))
    for tool in _listed(body.get("tools")):
        total += TOOL_OVERHEAD + text_tokens(json.dumps(tool, sort_keys=True))
    return max(total, 1)


def content_tokens(blocks: list[dict[str, Any]]) -> int:
    """Output tokens for generated content blocks (text, thinking and tool input all count)."""
    return sum(text_tokens("".join(_texts(block))) for block in blocks)


def _texts(content: Any) -> Iterator[str]:
    """Every piece of text in a content value: a string, a block, or a list of blocks."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for item in content:
            yield from _texts(item)
    elif isinstance(content, Mapping):
        for key in ("text", "thinking", "data"):
            if isinstance(content.get(key), str):
                yield content[key]
        if "input" in content:
            yield json.dumps(content["input"], sort_keys=True)
        if "content" in content:  # tool_result blocks nest their content
            yield from _texts(content["content"])


def _listed(value: Any) -> list[Any]:
    """``value`` if it is a list, else nothing: a count never fails on a field it need not read
    (the fake validates only what the API itself refuses)."""
    return value if isinstance(value, list) else []
