"""Parsing a Messages API body into the request routing judges."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tierwise.core.errors import InputError
from tierwise.messages.hints import Hints
from tierwise.messages.parse import DOCUMENT_TOKENS, IMAGE_TOKENS, route_request_from_body
from tierwise.messages.pinning import conversation_key

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}


def body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "auto", "max_tokens": 100, "messages": list(messages), **fields}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def test_string_content_is_the_text_and_fields_are_copied() -> None:
    request = route_request_from_body(
        body(user("Fix the typo"), system="Be brief."), Hints("format", "docs", "free")
    )
    assert request.text == "Fix the typo"
    assert request.system == "Be brief."
    assert request.requested_model == "auto"
    assert (request.task_type, request.domain, request.user_tier) == ("format", "docs", "free")
    assert request.turns == 1
    assert request.conversation_key == conversation_key(
        body(user("Fix the typo"), system="Be brief.")
    )


def test_text_blocks_are_joined_and_other_blocks_ignored() -> None:
    content = [{"type": "text", "text": "First part"}, IMAGE, {"type": "text", "text": "second"}]
    request = route_request_from_body(body(user(content)), Hints())
    assert request.text == "First part\nsecond"


def test_latest_user_turn_is_judged() -> None:
    request = route_request_from_body(
        body(user("old question"), assistant("old answer"), user("new question")), Hints()
    )
    assert request.text == "new question"
    assert request.turns == 2


def test_tool_results_count_with_the_text_of_the_same_turn() -> None:
    turn = [
        {"type": "tool_result", "tool_use_id": "t1", "content": "42 rows"},
        {"type": "text", "text": "Now summarise them"},
    ]
    request = route_request_from_body(body(user("go"), assistant("ok"), user(turn)), Hints())
    assert request.text == "Now summarise them\n\n42 rows"


def test_a_turn_of_only_tool_results_judges_the_last_turn_with_text() -> None:
    tool_use = {"type": "tool_use", "id": "t1", "name": "grep", "input": {"q": "x"}}
    results = [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": [{"type": "text", "text": "match.py:3"}],
        }
    ]
    request = route_request_from_body(
        body(user("Find the bug"), assistant([tool_use]), user(results)), Hints()
    )
    assert request.text == "Find the bug"


def test_only_tool_results_anywhere_falls_back_to_their_text() -> None:
    results = [{"type": "tool_result", "tool_use_id": "t1", "content": "output text"}]
    request = route_request_from_body(body(user(results)), Hints())
    assert request.text == "output text"


def test_image_only_turn_has_no_text_but_counts_tokens() -> None:
    request = route_request_from_body(body(user([IMAGE, IMAGE])), Hints())
    assert request.text == ""
    assert request.context_tokens is not None
    assert request.context_tokens >= 2 * IMAGE_TOKENS


def test_documents_get_an_allowance_or_their_text() -> None:
    pdf = {"type": "document", "source": {"type": "base64", "data": "JVBER"}}
    plain = {"type": "document", "source": {"type": "text", "data": "x" * 2600}}
    pdf_tokens = route_request_from_body(body(user([pdf])), Hints()).context_tokens
    text_tokens = route_request_from_body(body(user([plain])), Hints()).context_tokens
    assert pdf_tokens is not None
    assert pdf_tokens >= DOCUMENT_TOKENS
    assert text_tokens is not None
    assert 1000 <= text_tokens < DOCUMENT_TOKENS


def test_system_blocks_are_joined() -> None:
    system = [
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Answer in English."},
    ]
    request = route_request_from_body(body(user("hi"), system=system), Hints())
    assert request.system == "You are terse.\nAnswer in English."


def system_message(content: Any) -> dict[str, Any]:
    return {"role": "system", "content": content}


def test_system_role_messages_join_the_system_prompt_and_are_never_judged() -> None:
    """Claude Code's shape for ids it does not know: [user, system, ...] (SDK 2.10 types it)."""
    environment = [{"type": "text", "text": "Environment: Linux, cwd /repo"}]
    request_body = body(
        user(
            [
                {"type": "text", "text": "<system-reminder>x</system-reminder>"},
                {"type": "text", "text": "Rename x to count"},
            ]
        ),
        system_message(environment),
        system="You are an agent.",
    )
    request = route_request_from_body(request_body, Hints())
    assert "Rename x to count" in request.text
    assert "Environment" not in request.text
    assert request.system == "You are an agent.\nEnvironment: Linux, cwd /repo"
    assert request.turns == 1
    without = route_request_from_body(body(request_body["messages"][0]), Hints())
    assert request.context_tokens is not None
    assert without.context_tokens is not None
    assert request.context_tokens > without.context_tokens


def test_a_tool_loop_behind_a_system_message_judges_the_first_user_turn() -> None:
    tool_use = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "utils.py"}
    request = route_request_from_body(
        body(user("Rename x"), system_message("env"), assistant([tool_use]), user([result])),
        Hints(),
    )
    assert request.text == "Rename x"
    assert request.system == "env"


@pytest.mark.parametrize("role", ["system", "developer", "tool"])
def test_roles_the_proxy_does_not_know_pass_through(role: str) -> None:
    """Never stricter than the API: the API, not routing, judges a role."""
    request = route_request_from_body(body(user("hi"), {"role": role, "content": "x"}), Hints())
    assert request.text == "hi"


def test_context_counts_history_tool_inputs_and_tools() -> None:
    small = route_request_from_body(body(user("hi")), Hints()).context_tokens
    big_input = {"type": "tool_use", "id": "t", "name": "write", "input": {"text": "y" * 5200}}
    tool = {"name": "write", "description": "d" * 2600, "input_schema": {"type": "object"}}
    request = route_request_from_body(
        body(user("hi"), assistant([big_input]), user("next"), tools=[tool]), Hints()
    )
    assert small is not None
    assert request.context_tokens is not None
    assert request.context_tokens > small + 2000 + 1000


def test_the_body_is_not_modified() -> None:
    original = body(user([{"type": "text", "text": "hi"}]), metadata={"tierwise_domain": "x"})
    snapshot = copy.deepcopy(original)
    route_request_from_body(original, Hints())
    assert original == snapshot


def test_count_tokens_bodies_need_no_max_tokens() -> None:
    request = route_request_from_body(
        {"model": "auto", "messages": [user("hi")]}, Hints(), require_max_tokens=False
    )
    assert request.text == "hi"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"messages": None}, "messages: Field required"),
        ({"messages": "hi"}, "messages: Input should be a valid list"),
        ({"messages": []}, "messages: at least one message is required"),
        ({"messages": ["hi"]}, "messages.0: Input should be a valid dictionary"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": 3}]}, "messages.0.content"),
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_tokens": "10"}, "max_tokens: Input should be a valid integer"),
        ({"max_tokens": True}, "max_tokens: Input should be a valid integer"),
        ({"max_tokens": -1}, "greater than or equal to 0"),
        ({"model": None}, "model: Field required"),
        ({"model": 5}, "model: Input should be a valid string"),
        ({"system": 5}, "system: Input should be a valid string or list"),
    ],
)
def test_invalid_bodies_are_refused_like_the_api(change: dict[str, Any], message: str) -> None:
    request_body = body(user("hi"))
    for key, value in change.items():
        if value is None:
            del request_body[key]
        else:
            request_body[key] = value
    with pytest.raises(InputError, match=message):
        route_request_from_body(request_body, Hints())


def test_zero_max_tokens_is_allowed() -> None:
    assert route_request_from_body(body(user("warm"), max_tokens=0), Hints()).text == "warm"


def test_a_non_mapping_body_is_refused() -> None:
    with pytest.raises(InputError, match="JSON object"):
        route_request_from_body([], Hints())  # type: ignore[arg-type]
