"""The pieces without a network: reading the judge, combining orders, rebuilding a streamed
answer, the budget, and when the proxy runs shadow evaluation at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tierwise.core.errors import PolicyError
from tierwise.core.policy import load_policy
from tierwise.ledger.store import Store
from tierwise.serving.shadow.answer import Capture
from tierwise.serving.shadow.budget import Budget
from tierwise.serving.shadow.judge import Comparison, UnreadableVerdict, judgement, read_preference
from tierwise.serving.shadow.setup import shadow_worker

from .conftest import policy_with


@pytest.mark.parametrize(
    ("reply", "preference"),
    [
        ('{"better": "A"}', "A"),
        ('Here you go: {"better": "b"} because...', "B"),
        ('{"better": "tie"}', "tie"),
        ("B", "B"),
        ("Tie.", "tie"),
    ],
)
def test_the_judge_is_read_from_json_or_a_bare_word(reply: str, preference: str) -> None:
    assert read_preference(reply) == preference


@pytest.mark.parametrize("reply", ["", "I cannot decide", '{"better": "C"}'])
def test_an_unreadable_judge_is_an_error(reply: str) -> None:
    with pytest.raises(UnreadableVerdict):
        read_preference(reply)


def test_orders_combine_by_their_mean() -> None:
    at_a, at_b = Comparison("A"), Comparison("B")
    assert at_a.answers("routed", "base") == ("routed", "base")
    assert at_b.answers("routed", "base") == ("base", "routed")
    assert judgement([at_a.verdict("A")]).score == 1.0
    assert judgement([at_b.verdict("A")]).score == 0.0
    assert judgement([at_b.verdict("tie")]).score == 1.0
    biased = judgement([at_a.verdict("A"), at_b.verdict("A")])  # the same position twice
    assert (biased.score, biased.combined, biased.disagree) == (0.5, "split", True)
    steady = judgement([at_a.verdict("B"), at_b.verdict("A")])
    assert (steady.score, steady.combined, steady.disagree) == (0.0, "baseline", False)
    assert judgement([at_a.verdict("A")]).disagree is None


def _frame(kind: str, **data: object) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def test_a_streamed_answer_is_rebuilt_from_its_events() -> None:
    start = {"type": "message", "role": "assistant", "content": [], "usage": {}}
    text = {"type": "text_delta", "text": "Hello, "}
    data = b"".join(
        [
            _frame("message_start", message=start),
            _frame("content_block_start", index=0, content_block={"type": "thinking"}),
            _frame("content_block_delta", index=0, delta={"type": "thinking_delta"}),
            _frame("content_block_start", index=1, content_block={"type": "text", "text": ""}),
            _frame("content_block_delta", index=1, delta=text),
            _frame("future_event", note="unknown events are skipped"),
            _frame("content_block_delta", index=1, delta={**text, "text": "streamed world."}),
            _frame(
                "content_block_start",
                index=2,
                content_block={"type": "tool_use", "id": "t1", "name": "lookup", "input": {}},
            ),
            _frame(
                "content_block_delta",
                index=2,
                delta={"type": "input_json_delta", "partial_json": '{"q": '},
            ),
            _frame(
                "content_block_delta",
                index=2,
                delta={"type": "input_json_delta", "partial_json": '"x"}'},
            ),
            _frame("message_delta", delta={"stop_reason": "tool_use"}, usage={}),
            _frame("message_stop"),
        ]
    )
    capture = Capture([(b"anthropic-version", b"2023-06-01"), (b"x-api-key", b"secret")])
    for offset in range(0, len(data), 7):  # cut anywhere: chunks are joined before parsing
        capture.feed(data[offset : offset + 7])
    assert capture.text() == 'Hello, streamed world.\n[tool_use lookup] {"q": "x"}'
    assert capture.headers == [(b"anthropic-version", b"2023-06-01")]  # no credentials kept


def test_budget_limits() -> None:
    budget = Budget(daily_micro=100, monthly_micro=1000)
    assert not budget.exhausted(99, 999)
    assert budget.exhausted(100, 0)
    assert budget.exhausted(0, 1000)
    assert not Budget().exhausted(10**12, 10**12)


def test_shadow_runs_only_with_a_store_and_a_key_of_the_proxy(tmp_path: Path) -> None:
    policy = policy_with(tmp_path)
    with Store(str(tmp_path / "t.db")) as store:
        off = shadow_worker(policy, store, None)
        assert off.worker is None
        assert "caller-key mode" in (off.note or "")
        unrecorded = shadow_worker(policy, None, "sk-key")
        assert unrecorded.worker is None
        assert "recording" in (unrecorded.note or "")
        on = shadow_worker(policy, store, "sk-key")
        assert on.worker is not None
        assert on.worker.judge_model == policy.config.shadow.judge_model
    assert shadow_worker(load_policy(None), None, None).note is None  # not enabled: silent


def test_a_share_for_an_unknown_task_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('extends = "default"\n[shadow.shares]\nno_such_task = 0.5\n', "utf-8")
    with pytest.raises(PolicyError, match="no_such_task"):
        load_policy(path)


def test_serve_starts_the_worker_only_in_server_key_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tierwise.cli.serve import _build

    policy_with(tmp_path)  # writes policy.toml with [shadow] enabled
    policy = tmp_path / "policy.toml"
    keys = tmp_path / "keys.txt"
    keys.write_text("app: tw-key\n", "utf-8")
    monkeypatch.setenv("SHADOW_TEST_KEY", "sk-ant-server")
    db = str(tmp_path / "serve.db")
    served, _, _, recorder = _build(
        "127.0.0.1", 8787, policy, None, None, None, 32, db=db, record=True
    )
    assert served.state.proxy.shadow is None  # caller-key mode: no key of the proxy's own
    assert "caller-key mode" in capsys.readouterr().err
    assert recorder is not None
    recorder.close()
    served, _, _, recorder = _build(
        "127.0.0.1", 8787, policy, None, "SHADOW_TEST_KEY", keys, 32, db=db, record=True
    )
    assert served.state.proxy.shadow is not None
    assert "shadow evaluation on" in capsys.readouterr().err
    assert recorder is not None
    recorder.close()
