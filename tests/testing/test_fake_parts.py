"""The fake server's parts on their own: script queues, token counts, model pages, events."""

from __future__ import annotations

import threading

import pytest

from tierwise.testing import (
    Drop,
    Fail,
    FakeAnthropicServer,
    Inject,
    RecordedRequest,
    Reply,
    RequestLog,
    Script,
)
from tierwise.testing.model_list import model_info, model_page
from tierwise.testing.replies import generate
from tierwise.testing.stream import message_events, with_injections
from tierwise.testing.tokens import input_tokens, text_tokens, truncate_to_tokens


def test_script_prefers_the_model_queue_then_any_then_defaults() -> None:
    script = Script()
    script.push(Reply("a1"), Reply("a2"))
    script.push(Reply("h1"), model="claude-haiku-5-5")
    script.set_default(Fail(529), model="claude-opus-5-5")

    assert script.pending() == 3
    assert script.pending("claude-haiku-5-5") == 1
    assert script.next_for("claude-haiku-5-5") == Reply("h1")
    assert script.next_for("claude-haiku-5-5") == Reply("a1")
    assert script.next_for("claude-opus-5-5") == Reply("a2")
    assert script.next_for("claude-opus-5-5") == Fail(529)
    assert script.next_for("claude-haiku-5-5") == Reply()
    script.clear()
    assert script.next_for("claude-opus-5-5") == Reply()


def test_script_shorthands() -> None:
    script = Script().rate_limited(2.5).overloaded().stream_error(1).drop(4)

    assert script.next_for("m") == Fail(429, headers={"retry-after": "2.5"})
    assert script.next_for("m") == Fail(529)
    assert script.next_for("m").__class__.__name__ == "StreamError"
    assert script.next_for("m") == Drop(4)
    assert Fail(529).resolved_type == "overloaded_error"
    assert Fail(418).resolved_type == "api_error"


def test_script_is_safe_across_threads() -> None:
    script = Script()
    taken: list[str] = []
    lock = threading.Lock()

    def producer(n: int) -> None:
        for i in range(200):
            script.push(Reply(f"{n}-{i}"), model="m")

    def consumer() -> None:
        for _ in range(200):
            behaviour = script.next_for("m")
            with lock:
                taken.append(
                    behaviour.text if isinstance(behaviour, Reply) and behaviour.text else ""
                )

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=consumer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    scripted = [t for t in taken if t]
    assert len(taken) == 800
    assert len(set(scripted)) == len(scripted)  # nothing served twice
    assert len(scripted) + script.pending("m") == 800


def test_token_counts_are_deterministic_and_grow_with_the_input() -> None:
    assert text_tokens("") == 0
    assert text_tokens("abc") == 1
    assert text_tokens("a" * 35) == 10
    assert text_tokens(truncate_to_tokens("x" * 100, 3)) <= 3
    one = {"messages": [{"role": "user", "content": "hello"}]}
    blocks = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]}
    assert input_tokens(one) == input_tokens(blocks)
    with_tools = {**one, "tools": [{"name": "t", "input_schema": {"type": "object"}}]}
    with_system = {**one, "system": [{"type": "text", "text": "Be brief and kind."}]}
    assert input_tokens(with_tools) > input_tokens(one)
    assert input_tokens(with_system) > input_tokens(one)


def test_generated_output_never_exceeds_max_tokens() -> None:
    body = {
        "model": "claude-haiku-5-5",
        "max_tokens": 3,
        "messages": [{"role": "user", "content": "x"}],
    }
    generated = generate(Reply("a long answer " * 20), body)
    blocks = generate(Reply(content=[{"type": "text", "text": "b" * 400}]), body)

    assert generated.usage["output_tokens"] <= 3
    assert generated.stop_reason == "max_tokens"
    assert blocks.usage["output_tokens"] == 3


def test_injected_events_land_after_the_given_count() -> None:
    body = {
        "model": "claude-haiku-5-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "x"}],
    }
    events = message_events(generate(Reply("hi"), body), "claude-haiku-5-5", "msg_1")
    injected = with_injections(events, [Inject(0, "first"), Inject(99, "last")])

    assert next(name for name, _ in injected) == "first"
    assert injected[-1] == ("last", {"type": "last"})
    assert injected[1:-1] == events


def test_model_pages() -> None:
    ids = ["claude-a-1", "claude-b-2", "claude-c-3", "claude-d-4"]

    assert model_page(ids, {"limit": "2"})["data"][1]["id"] == "claude-b-2"
    after = model_page(ids, {"limit": "2", "after_id": "claude-b-2"})
    assert [m["id"] for m in after["data"]] == ["claude-c-3", "claude-d-4"]
    assert after["has_more"] is False
    before = model_page(ids, {"limit": "1", "before_id": "claude-c-3"})
    assert before["first_id"] == "claude-b-2"
    assert before["has_more"] is True
    assert model_info("claude-fable-5-2")["display_name"] == "Claude Fable 5.2"
    assert model_info("claude-haiku-4-5-20251001")["display_name"] == "Claude Haiku 4.5"
    assert model_info("claude-mystery")["line"] is None


def test_server_lifecycle() -> None:
    server = FakeAnthropicServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    with server:
        server.script.reply("x")
        url = server.url
        with pytest.raises(RuntimeError):
            server.start()
        server.reset()
        assert server.script.pending() == 0
    assert server.url == url  # still readable after stop, for messages
    server.stop()  # idempotent


def test_a_bounded_request_log_keeps_only_the_most_recent() -> None:
    log = RequestLog(keep=2)
    for index in range(3):
        log.append(
            RecordedRequest(
                method="POST",
                path=f"/v1/messages/{index}",
                query="",
                headers={},
                body=None,
                raw_body=b"",
                time=float(index),
                request_id=f"req_{index}",
            )
        )
    assert len(log) == 2
    assert [r.request_id for r in log] == ["req_1", "req_2"]
