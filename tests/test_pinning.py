"""Conversation pinning: keys, when a switch would cost, the pin store, and whole conversations.

The issue's requirement: a routed multi-turn conversation with tools and thinking never
produces a request the API would reject for a model change.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tierwise.core.errors import InputError
from tierwise.core.policy import Policy, load_policy
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import Hints
from tierwise.messages.pinning import ConversationPins, conversation_key, needs_pinning
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.messages.sanitize import rules_for

POLICY_FILE = Path(__file__).parent / "data" / "dispatch_policy.toml"
SIMPLE = "Fix the typo in the README"
HARD = "Prove that the lock-free queue in queue.rs has no race condition under contention"
TOOLS = [
    {
        "name": "read_file",
        "description": "Read a file",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
]


def policy(**proxy: Any) -> Policy:
    base = load_policy(POLICY_FILE)
    config = base.config.model_copy(
        update={"proxy": base.config.proxy.model_copy(update=proxy)}, deep=True
    )
    return Policy(config=config, source=base.source, models=base.models, warnings=base.warnings)


def router(**proxy: Any) -> MessagesRouter:
    return MessagesRouter(Router(policy(**proxy)))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- keys and needs_pinning ------------------------------------------------------------------


def test_the_key_is_stable_across_turns_and_moving_breakpoints() -> None:
    turn1 = {
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": SIMPLE, "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
    }
    turn2 = {
        "system": "sys",
        "messages": [
            {"role": "user", "content": SIMPLE},
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": "thanks"},
        ],
    }
    assert conversation_key(turn1) == conversation_key(turn2)
    assert len(conversation_key(turn1)) == 32


def test_the_key_differs_by_system_first_turn_and_user() -> None:
    base = {"system": "a", "messages": [{"role": "user", "content": "x"}]}
    keys = {
        conversation_key(base),
        conversation_key({**base, "system": "b"}),
        conversation_key({**base, "messages": [{"role": "user", "content": "y"}]}),
        conversation_key({**base, "metadata": {"user_id": "alice"}}),
        conversation_key({**base, "metadata": {"user_id": "bob"}}),
    }
    assert len(keys) == 5
    assert conversation_key({**base, "metadata": {"tierwise_domain": "x"}}) == conversation_key(
        base
    )


def test_needs_pinning_for_signed_history() -> None:
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    history = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [thinking, {"type": "text", "text": "a"}]},
        {"role": "user", "content": "q2"},
    ]
    assert needs_pinning({"messages": history})
    redacted = [*history[:1], {"role": "assistant", "content": [{"type": "redacted_thinking"}]}]
    assert needs_pinning({"messages": [*redacted, history[2]]})
    # a thinking block after the latest user turn (a prefill) is not history
    assert not needs_pinning({"messages": [history[0], history[1]]})


@pytest.mark.parametrize(
    "body",
    [
        {"cache_control": {"type": "ephemeral"}, "messages": [{"role": "user", "content": "q"}]},
        {
            "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "q"}],
        },
        {
            "tools": [{**TOOLS[0], "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "q"}],
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ]
        },
    ],
)
def test_needs_pinning_for_any_cache_breakpoint(body: dict[str, Any]) -> None:
    assert needs_pinning(body)


def test_no_pinning_needed_for_plain_history() -> None:
    body = {
        "system": "s",
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"},
        ],
    }
    assert not needs_pinning(body)


# -- the pin store -----------------------------------------------------------------------------


def test_pins_expire_after_the_ttl_and_use_refreshes_it() -> None:
    clock = Clock()
    pins = ConversationPins(ttl_seconds=60, clock=clock)
    pins.pin("k", "claude-haiku-5-5")
    clock.now += 50
    assert pins.get("k") == "claude-haiku-5-5"  # refreshed: expires at +110 now
    clock.now += 50
    assert pins.get("k") == "claude-haiku-5-5"
    clock.now += 61
    assert pins.get("k") is None
    assert len(pins) == 0


def test_pins_evict_the_least_recently_used_key() -> None:
    pins = ConversationPins(max_keys=2, clock=Clock())
    pins.pin("a", "m1")
    pins.pin("b", "m2")
    assert pins.get("a") == "m1"  # a is now the most recently used
    pins.pin("c", "m3")
    assert pins.get("b") is None
    assert (pins.get("a"), pins.get("c")) == ("m1", "m3")
    assert len(pins) == 2
    pins.pin("a", "m4")
    assert pins.get("a") == "m4"
    pins.forget("a")
    assert "a" not in pins
    pins.clear()
    assert len(pins) == 0


def test_pins_are_thread_safe() -> None:
    pins = ConversationPins(max_keys=500)

    def work(offset: int) -> None:
        for i in range(2000):
            pins.pin(f"k{(offset + i) % 700}", "m")
            pins.get(f"k{i % 700}")

    threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pins) == 500


def test_pin_store_limits_must_be_positive() -> None:
    with pytest.raises(InputError):
        ConversationPins(max_keys=0)
    with pytest.raises(InputError):
        ConversationPins(ttl_seconds=0)


# -- whole conversations ---------------------------------------------------------------------


def first_turn() -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": 2048,
        "system": "You are a careful engineer.",
        "tools": TOOLS,
        "tool_choice": {"type": "any"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": SIMPLE}],
    }


def assistant_turn() -> dict[str, Any]:
    """What the turn-1 model answered: a signed thinking block and a tool call."""
    return {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Look at README first.", "signature": "EqQBCkYIBx"},
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "read_file",
                "input": {"path": "README"},
            },
        ],
    }


def second_turn(first: dict[str, Any]) -> dict[str, Any]:
    """The tool result and a hard follow-up question, appended to the history (append-only)."""
    user = {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "# Projcet\nA queue."},
            {"type": "text", "text": HARD},
        ],
    }
    return {**first, "messages": [*first["messages"], assistant_turn(), user]}


def assert_acceptable(routed: Routed) -> None:
    """The body breaks none of the table's rules for the model it is sent to."""
    rules = rules_for(routed.model)
    assert rules is not None
    body = routed.body
    assert body["model"] == routed.model
    if not rules.forced_tool_choice:
        assert body.get("tool_choice", {}).get("type") not in ("any", "tool")
    thinking = body.get("thinking", {}).get("type")
    if not rules.manual_thinking:
        assert thinking != "enabled"
    if rules.thinking_off == "rejected":
        assert thinking != "disabled"
    if not rules.prefill:
        assert body["messages"][-1]["role"] == "user"
    assert not {"tierwise_task_type", "tierwise_domain"} & body.get("metadata", {}).keys()


def test_a_conversation_with_tools_and_thinking_stays_on_its_model() -> None:
    dispatch = router()
    turn1 = first_turn()
    routed1 = dispatch.route(turn1, Hints(), api_version="2026-10-21")
    assert routed1.tier is Tier.HAIKU
    assert_acceptable(routed1)
    dispatch.record_served(routed1, routed1.model)

    turn2 = second_turn(turn1)
    alone = dispatch.route(
        {**turn2, "messages": [{"role": "user", "content": HARD}]},
        Hints(),
        api_version="2026-10-21",
    )
    assert alone.tier is Tier.OPUS  # the question alone would go to opus...

    routed2 = dispatch.route(turn2, Hints(), api_version="2026-10-21")
    assert routed2.model == routed1.model  # ...but the conversation stays where it started
    assert routed2.pinned
    assert routed2.conversation_key == routed1.conversation_key
    assert "pinned" in routed2.reason
    assert routed2.decision is not None
    assert routed2.decision.model == routed1.model
    assert routed2.decision.trace[-1].strategy == "pinning"
    assert routed2.body["messages"] == turn2["messages"]  # history untouched
    assert_acceptable(routed2)


def test_allow_switch_pinned_lets_the_conversation_move() -> None:
    dispatch = router(allow_switch_pinned=True)
    turn1 = first_turn()
    routed1 = dispatch.route(turn1, Hints())
    dispatch.record_served(routed1, routed1.model)
    routed2 = dispatch.route(second_turn(turn1), Hints())
    assert routed2.tier is Tier.OPUS
    assert not routed2.pinned
    assert_acceptable(routed2)


def test_a_conversation_without_thinking_or_breakpoints_switches_freely() -> None:
    dispatch = router()
    turn1: dict[str, Any] = {
        "model": "auto",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": SIMPLE}],
    }
    routed1 = dispatch.route(turn1, Hints())
    dispatch.record_served(routed1, routed1.model)
    turn2 = {
        **turn1,
        "messages": [
            *turn1["messages"],
            {"role": "assistant", "content": [{"type": "text", "text": "Fixed."}]},
            {"role": "user", "content": HARD},
        ],
    }
    routed2 = dispatch.route(turn2, Hints())
    assert routed1.tier is Tier.HAIKU
    assert routed2.tier is Tier.OPUS
    assert not routed2.pinned


def test_cache_breakpoints_pin_a_conversation_too() -> None:
    dispatch = router()
    turn1: dict[str, Any] = {
        "model": "auto",
        "max_tokens": 1024,
        "cache_control": {"type": "ephemeral"},
        "messages": [{"role": "user", "content": SIMPLE}],
    }
    routed1 = dispatch.route(turn1, Hints())
    dispatch.record_served(routed1, "claude-sonnet-5-5")  # a fallback answered turn 1
    turn2 = {
        **turn1,
        "messages": [
            *turn1["messages"],
            {"role": "assistant", "content": "Fixed."},
            {"role": "user", "content": HARD},
        ],
    }
    routed2 = dispatch.route(turn2, Hints())
    assert (routed2.model, routed2.pinned) == ("claude-sonnet-5-5", True)


def test_an_expired_pin_no_longer_holds() -> None:
    clock = Clock()
    dispatch = MessagesRouter(Router(policy()), ConversationPins(ttl_seconds=10, clock=clock))
    turn1 = first_turn()
    dispatch.record_served(dispatch.route(turn1, Hints()), "claude-haiku-5-5")
    clock.now += 11
    routed2 = dispatch.route(second_turn(turn1), Hints())
    assert not routed2.pinned
    assert routed2.tier is Tier.OPUS
