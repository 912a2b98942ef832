"""Sessions: Claude Code is routed per instruction, and a downgrade must pay for its cache loss.

Prices (per million tokens, ``models.toml``) used by the hand computations below:

=================  =====  ======  ===========  ==========
model              input  output  5m write     cache read
=================  =====  ======  ===========  ==========
claude-opus-5-5    4      20      5            0.20
claude-sonnet-5-5  2      10      2.50         0.10
claude-haiku-5-5   0.10   0.50    0.125        0.01
claude-haiku-4-5   1      5       1.25         0.10
=================  =====  ======  ===========  ==========

The session's last turn read a cached prefix P = 40,000 tokens; its mean turn has 2,000 uncached
input and 1,000 output tokens. One Opus 5.5 turn reading the prefix costs
40,000 x 0.20 + 2,000 x 4 + 1,000 x 20 = 8,000 + 8,000 + 20,000 micro-dollars = $0.036.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tierwise.core.errors import InputError
from tierwise.core.usage import Usage
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.messages.sessions import (
    Sessions,
    SessionState,
    continues_instruction,
    session_key,
    switch_costs,
)

OPUS, SONNET, HAIKU = "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"
CAPTURES = Path(__file__).parent / "data" / "claude_code"
SESSION = "7d1c2a4e-0000-4000-8000-000000000001"
TURN = Usage(input_tokens=2_000, cache_read_tokens=40_000, output_tokens=1_000)
REMINDER = "<system-reminder>\nToken usage: 1234/200000\n</system-reminder>"
SYSTEM = [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}]


def state(turns: int, instructions: int = 1) -> SessionState:
    """An Opus 5.5 session whose every turn used ``TURN``."""
    return SessionState(
        model=OPUS,
        prefix_tokens=40_000,
        turns=turns,
        instructions=instructions,
        input_tokens=2_000 * turns,
        output_tokens=1_000 * turns,
        measured=turns,
    )


def user(text: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "text", "text": REMINDER}, {"type": "text", "text": text}],
    }


def tool_call(n: int) -> list[dict[str, Any]]:
    """One round of a tool loop: the model's call and the result Claude Code sends back."""
    return [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": f"t{n}", "content": "ok"},
                {"type": "text", "text": REMINDER},
            ],
        },
    ]


def body(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"model": "auto", "max_tokens": 1024, "system": SYSTEM, "messages": messages}


# -- what a session and an instruction are ----------------------------------------------------


def test_the_session_key_is_the_session_id_and_a_subagent_is_its_own_session() -> None:
    assert session_key({"x-claude-code-session-id": SESSION}) == SESSION
    agent = {"x-claude-code-session-id": SESSION, "x-claude-code-agent-id": "a1b2c3d4e5f60718"}
    assert session_key(agent) == f"{SESSION}/a1b2c3d4e5f60718"
    assert session_key({}) is None
    assert session_key({"x-claude-code-session-id": "  "}) is None


def test_tool_results_and_reminders_continue_an_instruction_and_human_words_start_one() -> None:
    assert continues_instruction(body([user("fix it"), *tool_call(1)]))
    notification = {"role": "user", "content": [{"type": "text", "text": REMINDER}]}
    assert continues_instruction(
        body([user("fix it"), {"role": "assistant", "content": "ok"}, notification])
    )
    assert not continues_instruction(body([user("fix it")]))
    mixed = tool_call(1)
    mixed[1]["content"].append({"type": "text", "text": "now also rename y"})
    assert not continues_instruction(body([user("fix it"), *mixed]))
    assert not continues_instruction(body([{"role": "user", "content": "a plain string"}]))


@pytest.mark.parametrize(
    ("capture", "continues"),
    [
        ("print_mode.json", False),
        ("tool_loop_turn1.json", False),
        ("tool_loop_turn2.json", True),
        ("tool_loop_system_role_turn2.json", True),
        ("interactive_turn2.json", False),
        ("task_notification.json", True),
        ("subagent.json", False),
        ("subagent_turn2.json", True),
    ],
)
def test_what_the_real_claude_code_sends(capture: str, continues: bool) -> None:
    """The captured requests (``tests/claude_code/FINDINGS.md``): instructions and tool loops."""
    data = json.loads((CAPTURES / capture).read_text(encoding="utf-8"))
    assert continues_instruction(data["body"]) is continues
    key = session_key(data["headers"])
    assert key is not None
    assert key.startswith(data["headers"]["x-claude-code-session-id"])
    assert ("/" in key) is ("x-claude-code-agent-id" in data["headers"])


# -- the switch rule, by hand ------------------------------------------------------------------


def test_opus_to_haiku_4_5_stays_for_a_one_turn_instruction_and_switches_for_ten() -> None:
    """Haiku 4.5, first turn writing the prefix: 40,000 x 1.25 + 2,000 x 1 + 1,000 x 5 =
    50,000 + 2,000 + 5,000 = $0.057; a later turn reading it: 4,000 + 2,000 + 5,000 = $0.011.

    T = 1: stay $0.036 < switch $0.057: stay. T = 10: stay 10 x 0.036 = $0.36 > switch
    0.057 + 9 x 0.011 = $0.156: switch. The cache loss is 50,000 - 8,000 = $0.042.
    """
    one = switch_costs(state(turns=1), "claude-haiku-4-5")
    assert one is not None
    assert (one.stay, one.switch, one.pays) == (Decimal("0.036"), Decimal("0.057"), False)
    assert one.cache_loss == Decimal("0.042")
    ten = switch_costs(state(turns=10), "claude-haiku-4-5")
    assert ten is not None
    assert (ten.stay, ten.switch, ten.pays) == (Decimal("0.36"), Decimal("0.156"), True)


def test_opus_to_haiku_5_5_pays_even_for_one_turn() -> None:
    """Haiku 5.5 writes the prefix for 40,000 x 0.125 = 5,000, less than Opus 5.5 reads it for
    (8,000): 5,000 + 2,000 x 0.10 + 1,000 x 0.50 = $0.0057 < $0.036."""
    one = switch_costs(state(turns=1), HAIKU)
    assert one is not None
    assert (one.switch, one.pays, one.cache_loss) == (Decimal("0.0057"), True, Decimal("-0.003"))


def test_without_an_instruction_yet_the_expected_turns_are_four() -> None:
    assert SessionState(model=OPUS).expected_turns == 4
    assert state(turns=5, instructions=2).expected_turns == Decimal("2.5")


# -- through the router ------------------------------------------------------------------------


def route(router: MessagesRouter, messages: list[dict[str, Any]], task: str) -> Routed:
    return router.route(body(messages), Hints(task_type=task), session=SESSION)


def run_instruction(router: MessagesRouter, turns: int) -> list[dict[str, Any]]:
    """An architect instruction on Opus 5.5 that takes ``turns`` requests (a tool loop)."""
    messages = [user("design the storage layer")]
    for n in range(turns):
        routed = route(router, messages, "architect" if n == 0 else "format")
        assert routed.model == OPUS
        if n:
            assert routed.switch == "tool-loop-stay"
            assert "session: tool loop, staying on claude-opus-5-5" in routed.reason
        router.record_served(routed, routed.model, TURN)
        messages += tool_call(n)
    messages.append({"role": "assistant", "content": "done"})
    return messages


def test_a_tool_loop_never_switches_mid_instruction() -> None:
    router = MessagesRouter(Router())
    run_instruction(router, turns=6)
    session = router.sessions.get(SESSION)
    assert session is not None
    assert (session.turns, session.instructions, session.prefix_tokens) == (6, 1, 40_000)


def test_a_one_turn_history_stays_on_opus_for_a_sonnet_instruction() -> None:
    """Sonnet 5.5 first turn: 40,000 x 2.50 + 2,000 x 2 + 1,000 x 10 = $0.114 > $0.036 (T = 1)."""
    router = MessagesRouter(Router())
    messages = run_instruction(router, turns=1)
    routed = route(router, [*messages, user("now write the tests")], "test")
    assert (routed.model, routed.switch, routed.pinned) == (OPUS, "stay-cache-loss", True)
    assert routed.switch_cache_cost_usd == Decimal("0.092")  # 100,000 - 8,000 micro-dollars
    assert "cache loss" in routed.reason


def test_a_ten_turn_history_switches_to_sonnet() -> None:
    """T = 10: stay $0.36; switch 0.114 + 9 x (4,000 + 4,000 + 10,000) = 0.114 + 0.162 = $0.276."""
    router = MessagesRouter(Router())
    messages = run_instruction(router, turns=10)
    routed = route(router, [*messages, user("now write the tests")], "test")
    assert (routed.model, routed.switch) == (SONNET, "switch-pays")
    assert routed.switch_cache_cost_usd == Decimal("0.092")
    assert "$0.276000 vs $0.360000 over 10 turns" in routed.reason


def test_an_upgrade_is_taken_whatever_the_cache() -> None:
    router = MessagesRouter(Router())
    first = route(router, [user("reformat this json")], "format")
    assert first.model == HAIKU
    assert first.switch == "new-instruction"
    router.record_served(first, first.model, TURN)
    messages = [user("reformat this json"), {"role": "assistant", "content": "done"}]
    routed = route(router, [*messages, user("design the storage layer")], "architect")
    assert (routed.model, routed.switch) == (OPUS, "upgrade")


def test_signed_thinking_history_keeps_its_pin() -> None:
    router = MessagesRouter(Router())
    messages = run_instruction(router, turns=10)
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    messages[-1] = {"role": "assistant", "content": [thinking, {"type": "text", "text": "done"}]}
    routed = route(router, [*messages, user("now write the tests")], "test")
    assert routed.model == OPUS
    assert routed.switch is None
    assert routed.pinned


def test_without_the_headers_the_conversation_pin_holds_as_before() -> None:
    router = MessagesRouter(Router())
    first = router.route(body([user("design the storage layer")]), Hints(task_type="architect"))
    assert first.session_id == first.conversation_key
    assert first.switch is None
    router.record_served(first, first.model, TURN)
    later = [
        user("design the storage layer"),
        {"role": "assistant", "content": "ok"},
        user("tests"),
    ]
    routed = router.route(body(later), Hints(task_type="test"))
    assert routed.model == OPUS
    assert routed.pinned
    assert routed.switch is None
    assert len(router.sessions) == 0


def test_a_subagent_is_routed_on_its_own() -> None:
    router = MessagesRouter(Router())
    run_instruction(router, turns=3)
    agent = f"{SESSION}/a1b2c3d4e5f60718"
    routed = router.route(body([user("find utils.py")]), Hints(task_type="format"), session=agent)
    assert routed.model == HAIKU
    assert routed.switch == "new-instruction"


# -- the store of sessions ---------------------------------------------------------------------


def test_sessions_are_bounded_and_expire() -> None:
    now = [0.0]
    sessions = Sessions(max_sessions=2, ttl_seconds=10, clock=lambda: now[0])
    for key in ("a", "b", "c"):
        sessions.served(key, OPUS, TURN, new_instruction=True)
    assert len(sessions) == 2
    assert sessions.get("a") is None
    now[0] = 11.0
    assert sessions.get("b") is None
    with pytest.raises(InputError):
        Sessions(max_sessions=0)
