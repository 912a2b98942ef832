"""Shadow evaluation through the proxy, over real sockets: what is sampled, what the baseline
and the judge are asked, and where the verdicts land."""

from __future__ import annotations

from pathlib import Path

from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer, Reply

from .conftest import (
    CONVERT,
    HAIKU,
    JUDGE,
    OPUS,
    SERVER_KEY,
    SUMMARIZE,
    judge_prompt,
    judge_requests,
    policy_with,
    position_of,
    shadow_proxy,
)


def test_scores_land_on_the_records_of_the_routed_requests(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    routed = ["routed answer one", "routed answer two", "routed answer three"]
    for text in routed:
        fake.script.reply(text, model=HAIKU)
    fake.script.set_default(Reply("the baseline's answer"), model=OPUS)
    verdicts = ['{"better": "A"}', '{"better": "B"}', "tie"]
    for text in verdicts:
        fake.script.reply(text, model=JUDGE)
    with shadow_proxy(fake, store, policy_with(tmp_path)) as proxy:
        ids = [proxy.ask(CONVERT)[0], proxy.ask(SUMMARIZE)[0], proxy.ask(CONVERT)[0]]
        proxy.wait_done(3)
        opus_id, _ = proxy.ask(CONVERT, model=OPUS)  # served by the baseline model itself
        records = {rid: proxy.record(rid) for rid in [*ids, opus_id]}
        rows = {row.request_id: row for row in proxy.rows()}
        stats = proxy.worker.stats
    judged = judge_requests(fake)
    assert len(judged) == 3
    for index, (rid, answer, verdict) in enumerate(zip(ids, routed, verdicts, strict=True)):
        position = position_of(answer, judge_prompt(judged[index]))
        assert rows[rid].routed_position == position
        preference = verdict.split('"better": "')[-1][:1] if "better" in verdict else "tie"
        expected = 1.0 if preference in ("tie", position) else 0.0
        assert records[rid].quality_score == expected, (rid, position, verdict)
        assert rows[rid].quality_score == expected
        assert rows[rid].routed_model == HAIKU
        assert rows[rid].baseline_model == OPUS
        assert rows[rid].judge_model == JUDGE
        assert rows[rid].shadow_cost_micro_usd
        assert rows[rid].judge_cost_micro_usd
    assert rows[ids[1]].task_type == "summarize"
    assert opus_id not in rows  # served by the baseline itself: nothing to compare
    assert records[opus_id].quality_score is None
    # the baseline got the caller's request, paid with the proxy's key, never the client's
    shadow_calls = [r for r in fake.log.messages() if r.model == OPUS][:3]
    assert [c.body["messages"][0]["content"] for c in shadow_calls] == [CONVERT, SUMMARIZE, CONVERT]
    assert all(c.headers["x-api-key"] == SERVER_KEY for c in shadow_calls + judged)
    assert stats.scored == 3


def test_a_stream_is_compared_from_its_events_and_re_sent_without_streaming(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    fake.script.reply("streamed routed answer, in several words", model=HAIKU)
    fake.script.reply("the baseline's answer", model=OPUS)
    fake.script.reply('{"better": "A"}', model=JUDGE)
    with shadow_proxy(fake, store, policy_with(tmp_path)) as proxy:
        rid, received = proxy.stream()
        proxy.wait_done(1)
        (row,) = proxy.rows()
        record = proxy.record(rid)
    assert received == "streamed routed answer, in several words"
    (haiku_call,) = [r for r in fake.log.messages() if r.model == HAIKU]
    (opus_call,) = [r for r in fake.log.messages() if r.model == OPUS]
    assert haiku_call.body["stream"] is True
    assert "stream" not in opus_call.body
    (judged,) = judge_requests(fake)
    assert position_of(received, judge_prompt(judged)) == row.routed_position
    assert record.stream
    assert record.quality_score == (1.0 if row.routed_position == "A" else 0.0)


def test_positions_are_random_per_comparison_and_reproducible_with_a_seed(
    fake: FakeAnthropicServer, tmp_path: Path
) -> None:
    fake.script.set_default(Reply('{"better": "tie"}'), model=JUDGE)
    runs: list[list[str | None]] = []
    for run in range(2):
        fake.reset()
        fake.script.set_default(Reply('{"better": "tie"}'), model=JUDGE)
        answers = [f"routed answer number {n}" for n in range(12)]
        for text in answers:
            fake.script.reply(text, model=HAIKU)
        with Store(str(tmp_path / f"run{run}.db")) as store:
            store.migrate()
            with shadow_proxy(fake, store, policy_with(tmp_path), seed=1234) as proxy:
                for _ in answers:
                    proxy.ask()
                proxy.wait_done(len(answers))
                rows = proxy.rows()
        prompts = [judge_prompt(r) for r in judge_requests(fake)]
        shown = [position_of(a, p) for a, p in zip(answers, prompts, strict=True)]
        assert [row.routed_position for row in rows] == shown
        assert all(row.quality_score == 1.0 for row in rows)  # ties count as 1.0
        runs.append([row.routed_position for row in rows])
    assert set(runs[0]) == {"A", "B"}  # both positions are used
    assert runs[0] == runs[1]  # the same seed, the same positions


def test_both_orders_measure_position_bias(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    fake.script.set_default(Reply("the baseline's answer"), model=OPUS)
    fake.script.reply("routed answer, biased judge", model=HAIKU)
    fake.script.reply("routed answer, consistent judge", model=HAIKU)
    # the first evaluation's judge says A both times: it prefers a position, not an answer;
    # the second's says A then B: the same answer both times, whichever it was
    for text in ("A", "A", "A", "B"):
        fake.script.reply(f'{{"better": "{text}"}}', model=JUDGE)
    with shadow_proxy(fake, store, policy_with(tmp_path, both_orders_share=1.0)) as proxy:
        biased, _ = proxy.ask()
        consistent, _ = proxy.ask()
        proxy.wait_done(2)
        rows = {row.request_id: row for row in proxy.rows()}
        scores = {rid: proxy.record(rid).quality_score for rid in (biased, consistent)}
        stats = proxy.worker.stats
    judged = judge_requests(fake)
    assert len(judged) == 4
    answer = "routed answer, biased judge"
    first, second = (position_of(answer, judge_prompt(r)) for r in judged[:2])
    assert first != second  # the second order swaps the positions
    assert rows[biased].routed_position == first
    assert rows[biased].both_orders
    assert rows[biased].orders_disagree
    assert rows[biased].verdict == "split"
    assert scores[biased] == 0.5  # orders that disagree: half
    assert rows[consistent].both_orders
    assert rows[consistent].orders_disagree is False
    expected = 1.0 if rows[consistent].routed_position == "A" else 0.0
    assert scores[consistent] == expected
    assert rows[consistent].verdict == ("routed" if expected else "baseline")
    assert (stats.both_orders, stats.disagreements) == (2, 1)
