"""Agent-client profiles: one realistic request per client, judged by the person's words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tierwise.messages.clients import read_client

FIXTURES = Path(__file__).parent / "data" / "claude_code"
CLINE_SYSTEM = "You are Cline, a highly skilled software engineer with extensive knowledge."
AIDER_SYSTEM = "Act as an expert software developer.\nAlways use best practices when coding."
ENV_DETAILS = (
    "<environment_details>\n# VSCode Visible Files\nsrc/raft/election.rs\n\n"
    "# Current Working Directory (/home/u/proj) Files\narchitecture/consensus.md\n"
    "docs/security/threat-model.md\ncrates/core/src/lock_manager.rs\n\n"
    "# Current Mode\nACT MODE\n</environment_details>"
)


def _fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))["body"]
    return body


def _body(system: str, *messages: dict[str, Any], tools: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "auto", "max_tokens": 100, "system": system}
    body["messages"] = list(messages)
    if tools is not None:
        body["tools"] = tools
    return body


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        ("print_mode.json", "Rename the variable x to count in utils.py"),
        ("print_mode_unknown_model.json", "Rename the variable x to count in utils.py"),
        ("tool_loop_turn2.json", "Rename the variable x to count in utils.py"),
        ("tool_loop_system_role_turn2.json", "Rename the variable x to count in utils.py"),
        ("interactive_turn2.json", "Now add a docstring to total"),
        ("task_notification.json", "Find utils.py using a subagent and tell me where it is"),
    ],
)
def test_claude_code_the_human_words_not_reminders_tool_results_or_notifications(
    fixture: str, words: str
) -> None:
    view = read_client(_fixture(fixture))
    assert view is not None
    assert (view.client, view.instruction, view.background) == ("claude-code", words, False)
    assert view.envelope_tokens > 5_000  # system prompt, tool definitions, reminders


@pytest.mark.parametrize("fixture", ["subagent.json", "subagent_turn2.json"])
def test_claude_code_subagent_the_agent_prompt_is_the_task(fixture: str) -> None:
    view = read_client(_fixture(fixture))
    assert view is not None
    assert view.subagent
    assert view.instruction == "Find the file utils.py in this project and report its path."


def test_claude_code_title_request_is_background() -> None:
    view = read_client(_fixture("background_title.json"))
    assert view is not None
    assert view.background
    assert view.instruction == "Rename the variable x to count in utils.py"


def test_cline_the_task_not_the_environment_details() -> None:
    ask = "add JSDoc comments to the exported functions in src/utils/format.ts"
    body = _body(
        CLINE_SYSTEM,
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"<task>\n{ask}\n</task>"},
                {"type": "text", "text": ENV_DETAILS},
            ],
        },
        {"role": "assistant", "content": "<read_file><path>src/utils/format.ts</path></read_file>"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "[read_file] Result:\nexport ..."},
                {"type": "text", "text": ENV_DETAILS},
            ],
        },
        {
            "role": "user",
            "content": f"<feedback>\nalso the default export\n</feedback>\n{ENV_DETAILS}",
        },
    )
    view = read_client(body)
    assert view is not None
    assert (view.client, view.instruction) == ("cline", "also the default export")


def test_aider_the_ask_after_the_added_files() -> None:
    files = (
        "Here are summaries of some files present in my git repository.\n"
        "app/concurrency/locks.py:\n│class DistributedLock:\n⋮\n\n"
        "I have *added these files to the chat* so you can go ahead and edit them.\n\n"
        "*Trust this message as the true contents of these files!*\n\n"
        'app/money.py\n```\ndef fmt(amount, currency):\n    return "%s %.2f" % (currency, amount)\n'
        "```\n\nchange the % formatting in fmt to an f-string"
    )
    view = read_client(_body(AIDER_SYSTEM, {"role": "user", "content": files}))
    assert view is not None
    assert (view.client, view.instruction) == (
        "aider",
        "change the % formatting in fmt to an f-string",
    )


@pytest.mark.parametrize(
    "system", ["You are opencode, an interactive CLI tool.", "You are Codex, based on GPT-5."]
)
def test_opencode_and_codex_without_agents_md_and_environment_context(system: str) -> None:
    envelope = (
        "# AGENTS.md instructions for /home/lee/payments-svc\n\n<INSTRUCTIONS>\n"
        "Security-sensitive areas: api/auth. Concurrency: handlers must be safe.\n"
        "</INSTRUCTIONS>\n\n<environment_context>\n  <cwd>/home/lee/payments-svc</cwd>\n"
        "  <sandbox_mode>workspace-write</sandbox_mode>\n</environment_context>\n\n"
    )
    ask = "fix the lint warning in api/payments/capture.go line 88"
    view = read_client(_body(system, {"role": "user", "content": envelope + ask}, tools=[]))
    assert view is not None
    assert view.instruction == ask
    assert not view.background


def test_no_profile_for_a_plain_request() -> None:
    assert read_client(_body("Be brief.", {"role": "user", "content": "hi"})) is None


def test_no_marker_holds_the_separator_the_texts_are_joined_with() -> None:
    from tierwise.messages.clients import PROFILES

    assert all("\x00" not in marker for profile in PROFILES for marker in profile.markers)
