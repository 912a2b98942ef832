"""What shadow evaluation must never do: spend past its budget, invent a score when the judge
fails, or hold up the requests it samples."""

from __future__ import annotations

from pathlib import Path

from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, Reply

from .conftest import (
    HAIKU,
    JUDGE,
    OPUS,
    judge_requests,
    policy_with,
    shadow_proxy,
    wait_for,
)
from .gate import GatedFake


def test_the_budget_stops_sampling_and_holds_across_restarts(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    fake.script.set_default(Reply('{"better": "tie"}'), model=JUDGE)
    policy = policy_with(tmp_path, monthly_usd=0.000001)  # less than one evaluation costs
    with shadow_proxy(fake, store, policy) as proxy:
        first, _ = proxy.ask()
        proxy.wait_done(1)
        wait_for(lambda: proxy.worker.paused, "the worker to see the budget spent")
        later = [proxy.ask()[0] for _ in range(3)]
        stats = proxy.worker.stats
        assert (stats.sampled, stats.judged) == (1, 1)
        assert proxy.record(later[-1]).quality_score is None
    (row,) = store_rows = proxy.rows()
    assert row.request_id == first
    assert row.spent_micro > 1  # over the budget by the one evaluation that crossed it
    assert [r.model for r in fake.log.messages()].count(OPUS) == 1
    # a new proxy on the same store reads the recorded spend: still nothing is sampled
    with shadow_proxy(fake, store, policy) as restarted:
        wait_for(lambda: restarted.worker.paused, "the restarted worker to read the spend")
        restarted.ask()
        assert restarted.worker.stats.sampled == 0
    assert restarted.rows() == store_rows
    assert [r.model for r in fake.log.messages()].count(OPUS) == 1


def test_a_judge_failure_leaves_the_score_empty_and_is_counted(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    fake.script.fail(400, "invalid_request_error", model=JUDGE)
    fake.script.reply("I would rather not say which is better.", model=JUDGE)  # unreadable
    with shadow_proxy(fake, store, policy_with(tmp_path)) as proxy:
        refused, _ = proxy.ask()
        proxy.wait_done(1)
        unreadable, _ = proxy.ask()
        proxy.wait_done(2)
        records = [proxy.record(rid) for rid in (refused, unreadable)]
        rows = proxy.rows()
        stats = proxy.worker.stats
    assert [r.quality_score for r in records] == [None, None]
    assert [r.quality_score for r in rows] == [None, None]
    assert [r.verdict for r in rows] == [None, None]
    assert all((r.error or "").startswith("judge_error") for r in rows)
    assert "names no answer" in (rows[1].error or "")
    assert (stats.judge_failures, stats.judged, stats.scored) == (2, 0, 0)
    assert all(r.shadow_cost_micro_usd for r in rows)  # what the shadow call spent still counts
    assert rows[1].judge_cost_micro_usd  # and the judge call that answered nonsense


def test_a_baseline_failure_is_recorded_without_a_score(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    fake.script.fail(529, model=OPUS)
    with shadow_proxy(fake, store, policy_with(tmp_path)) as proxy:
        rid, message = proxy.ask()
        proxy.wait_done(1)
        (row,) = proxy.rows()
        assert proxy.record(rid).quality_score is None
        assert proxy.worker.stats.shadow_failures == 1
    assert message.model == HAIKU  # the caller's answer was never at stake
    assert (row.error or "").startswith("shadow_error")
    assert judge_requests(fake) == []


def test_a_slow_judge_does_not_hold_up_requests_and_a_full_queue_drops(
    store: Store, tmp_path: Path
) -> None:
    with GatedFake(JUDGE) as fake:
        fake.script.set_default(Reply('{"better": "A"}'), model=JUDGE)
        with shadow_proxy(fake, store, policy_with(tmp_path, queue_size=1)) as proxy:
            try:
                first, _ = proxy.ask()
                assert fake.arrived.wait(20), "the judge was never asked"
                # the judge is held at the gate: the worker waits on it; requests must not
                answered = [proxy.ask()[1] for _ in range(4)]
                stats = proxy.worker.stats
                wait_for(lambda: stats.queued + stats.dropped == 5, "five offers")
                assert stats.judged == 0
                assert not fake.gate.is_set()
                assert all(message.model == HAIKU for message in answered)
                # one evaluation at the judge, one waiting in the queue of one, three dropped
                assert (stats.sampled, stats.queued, stats.dropped) == (5, 2, 3)
            finally:
                fake.gate.set()
            proxy.wait_done(2)  # the first evaluation and the one queued behind it
            assert stats.judged == 2
            assert proxy.record(first).quality_score is not None
