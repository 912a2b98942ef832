"""The basic checks the real API makes before it generates anything, with its statuses.

Only what a router or proxy can get wrong is checked: JSON that does not parse, missing or
ill-typed required fields, a role outside the SDK's ``MessageParam`` (SDK 2.10: ``user``,
``assistant``, ``system``), a negative ``max_tokens``, a model id that cannot exist (404), and
sampling parameters that API version 2026-10-21 removed. Everything else passes through: the
fake must never be stricter than the API, or a test would pass against it that fails against
the real one (``tests/testing/test_sdk_shapes.py`` checks it against the SDK's own types).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tierwise.testing.wire import ApiError

REMOVED_IN_2026_10_21 = ("temperature", "top_p", "top_k")
ROLES = ("user", "assistant", "system")  # SDK 2.10 MessageParam; "system" is SystemMessageParam


def invalid(message: str) -> ApiError:
    """A 400 ``invalid_request_error``."""
    return ApiError(400, "invalid_request_error", message)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``, or a 400 like the API's."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid("There was an error parsing the body of your request as JSON") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    return body


def check_messages_body(body: Mapping[str, Any], api_version: str | None) -> None:
    """Checks for ``POST /v1/messages``."""
    check_count_tokens_body(body, api_version)
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise invalid("max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    if not isinstance(body.get("stream", False), bool):
        raise invalid("stream: Input should be a valid boolean")


def check_count_tokens_body(body: Mapping[str, Any], api_version: str | None) -> None:
    """Checks shared by ``/v1/messages`` and ``/v1/messages/count_tokens``."""
    model = body.get("model")
    if model is None:
        raise invalid("model: Field required")
    if not isinstance(model, str):
        raise invalid("model: Input should be a valid string")
    messages = body.get("messages")
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    for index, message in enumerate(messages):
        _check_message(index, message)
    if api_version == "2026-10-21":
        for name in REMOVED_IN_2026_10_21:
            if name in body:
                raise invalid(f"{name}: Extra inputs are not permitted")
    if not model.startswith("claude-"):
        raise ApiError(404, "not_found_error", f"model: {model}")


def _check_message(index: int, message: Any) -> None:
    if not isinstance(message, dict):
        raise invalid(f"messages.{index}: Input should be a valid dictionary")
    if message.get("role") not in ROLES:
        raise invalid(f"messages.{index}.role: Input should be 'user', 'assistant' or 'system'")
    if not isinstance(message.get("content"), str | list):
        raise invalid(f"messages.{index}.content: Input should be a valid string or list")
