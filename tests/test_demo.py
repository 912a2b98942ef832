"""The README's main job: the bundled workload through the proxy and the fake upstream."""

from __future__ import annotations

from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.core.policy import default_policy
from tierwise.demo import load_workload
from tierwise.demo.live import run_live_demo


def test_live_demo_answers_every_request_through_the_proxy_and_saves_money() -> None:
    result = run_live_demo(default_policy())
    workload = load_workload()
    assert [task.id for task, _ in result.outcomes] == [task.id for task in workload]
    served = result.served()
    assert len(served) == len(workload)
    for outcome in served:
        assert outcome.routed is not None
        assert outcome.served_model == outcome.routed.model
        assert outcome.cost is not None
        assert outcome.cost.total > 0
    assert any(outcome.stream for outcome in served)
    tiers = {outcome.routed.tier for outcome in served if outcome.routed}
    assert len(tiers) == 3
    assert result.total(baseline=False) < result.total(baseline=True)


def test_demo_command_prints_mix_savings_and_overhead() -> None:
    run = CliRunner().invoke(app, ["demo"])
    assert run.exit_code == 0, run.output
    assert "tier mix:" in run.stdout
    assert "saved" in run.stdout
    assert "routing decision: p50" in run.stdout


def test_offline_demo_routes_without_servers() -> None:
    run = CliRunner().invoke(app, ["demo", "--offline"])
    assert run.exit_code == 0, run.output
    assert "estimated cost:" in run.stdout
