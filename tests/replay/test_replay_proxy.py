"""Replay against reality: traffic recorded through a real proxy and the fake Anthropic API is
replayed offline, then the same traffic is re-run through a proxy with the changed policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tierwise.analysis.replay import Replayed, Replayer, replay_store
from tierwise.core.policy import default_policy
from tierwise.ledger.store import Store
from tierwise.testing import FakeAnthropicServer

from .traffic import changed_policy, record_workload, send_workload


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "records.db")) as opened:
        yield opened


@pytest.mark.parametrize("store_prompts", [False, True], ids=["inputs", "prompts"])
def test_replay_with_the_same_policy_reproduces_every_decision(
    fake: FakeAnthropicServer, store: Store, store_prompts: bool
) -> None:
    policy = default_policy()
    recorded = record_workload(fake, policy, store, store_prompts=store_prompts)
    assert len({r.chosen_tier for r in recorded}) == 3  # the workload exercises every tier
    items = list(Replayer(policy).replay(store.records()))
    assert all(isinstance(item, Replayed) for item in items)
    replayed = [item for item in items if isinstance(item, Replayed)]
    assert {item.basis for item in replayed} == {"prompt" if store_prompts else "inputs"}
    for item in replayed:
        assert item.model == item.record.chosen_model, item.record.reason
        assert item.cost_micro == item.record.cost_micro_usd
    report = replay_store(store, policy)
    assert report.same == report.replayed == len(recorded)
    assert report.cost_after == report.cost_before
    assert report.notes == {}


def test_replayed_cost_of_a_changed_policy_matches_a_real_rerun(
    fake: FakeAnthropicServer, store: Store, tmp_path: Path
) -> None:
    recorded = record_workload(fake, default_policy(), store, store_prompts=False)
    changed = changed_policy(tmp_path)
    report = replay_store(store, changed)
    rerun = send_workload(fake, changed)

    moved = sum(report.moves.values())
    assert moved >= 5, report.moves  # the change matters, or the comparison proves nothing
    assert report.cost_after != report.cost_before
    rerun_models = [o.routed.model if o.routed else None for o in rerun]
    replayed = [
        item for item in Replayer(changed).replay(store.records()) if isinstance(item, Replayed)
    ]
    assert [item.model for item in replayed] == rerun_models  # every decision, one by one
    rerun_cost = sum(o.total_cost for o in rerun if o.total_cost is not None)
    rerun_micro = int(rerun_cost * 1_000_000)
    assert report.priced == len(recorded)
    assert abs(report.cost_after - rerun_micro) / rerun_micro < 0.03, (
        report.cost_after,
        rerun_micro,
    )
