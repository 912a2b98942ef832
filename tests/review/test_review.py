"""``build_review`` on records built by hand: what it measures, what it proposes, the file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tierwise.analysis.review import Criteria, build_review, wilson
from tierwise.cli import app
from tierwise.core.errors import InputError
from tierwise.core.policy import default_policy, load_policy
from tierwise.core.tiers import Tier
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

NOW = datetime.now(UTC)
FIRST = {"model": "m", "status": 200, "kind": "first"}
ESCALATION = {"model": "m2", "status": 200, "kind": "escalation"}
CHECKED = ({"validator": "non_empty", "passed": True},)


def _record(n: int, task_type: str, tier: str, **fields: Any) -> DecisionRecord:
    values: dict[str, Any] = {
        "request_id": f"{task_type}-{tier}-{n}-{fields.pop('tag', '')}",
        "time": NOW - timedelta(hours=1, seconds=n),
        "endpoint": "messages",
        "status": 200,
        "routed": True,
        "task_type": task_type,
        "chosen_tier": tier,
        "cost_micro_usd": 1_000,
        "attempts": (FIRST,),
    }
    values.update(fields)
    return DecisionRecord(**values)


def _workload() -> list[DecisionRecord]:
    records = []
    # implement at sonnet (its route): 12 of 40 escalate -> upgrade to opus
    for n in range(40):
        escalated = n < 12
        records.append(
            _record(n, "implement", "sonnet", validator_verdicts=CHECKED,
                    attempts=(FIRST, ESCALATION) if escalated else (FIRST,))
        )  # fmt: skip
    # test (route: sonnet) served at haiku under a ceiling, all scored as good -> downgrade
    for n in range(40):
        records.append(_record(n, "test", "haiku", quality_score=1.0, domain="backend"))
    # explain at sonnet: poor scores but only 10 of them -> nothing (below the minimum)
    for n in range(10):
        records.append(_record(n, "explain", "sonnet", quality_score=0.5))
    # summarize at haiku: 35 scored at 0.8 -> upgrade on quality
    for n in range(35):
        records.append(_record(n, "summarize", "haiku", quality_score=0.8))
    # an old record outside the period
    records.append(_record(0, "implement", "sonnet", tag="old", time=NOW - timedelta(days=60)))
    return records


def test_wilson_interval_matches_the_textbook_values() -> None:
    interval = wilson(0.5, 10)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2366, 0.7634)
    full = wilson(1.0, 30)
    assert full is not None
    assert full.high == 1.0
    assert round(full.low, 4) == 0.8865
    assert wilson(0.3, 0) is None
    with pytest.raises(InputError, match="confidence"):
        wilson(0.5, 10, confidence=1.5)


def test_review_measures_and_proposes_with_evidence(store: Store, tmp_path: Path) -> None:
    store.insert_many(_workload())
    review = build_review(store, default_policy(), since=NOW - timedelta(days=30))
    assert review.requests == 125  # the old record is outside the period
    cells = {(c.task_type, c.tier): c.stats for c in review.cells}
    implement = cells[("implement", Tier.SONNET)]
    assert (implement.routed, implement.escalations, implement.validated) == (40, 12, 40)
    assert cells[("test", Tier.HAIKU)].retention == pytest.approx(1.0)
    proposals = {p.task_type: p for p in review.proposals}
    assert set(proposals) == {"implement", "test", "summarize"}
    assert (proposals["implement"].direction, proposals["implement"].proposed) == (
        "upgrade",
        Tier.OPUS,
    )
    assert "30% of 40" in proposals["implement"].evidence[0]
    assert proposals["implement"].strong is False  # Wilson 95%: 18%-46% straddles 20%
    assert (proposals["test"].direction, proposals["test"].proposed) == ("downgrade", Tier.HAIKU)
    assert proposals["summarize"].proposed is Tier.SONNET
    assert proposals["summarize"].strong

    path = tmp_path / "proposal.toml"
    path.write_text(review.toml(), encoding="utf-8")
    proposed = load_policy(path)
    routes = proposed.config.routes
    assert routes["implement"].tier is Tier.OPUS
    assert routes["test"].tier is Tier.HAIKU
    assert routes["summarize"].tier is Tier.SONNET
    assert routes["explain"].tier is default_policy().config.routes["explain"].tier
    assert "escalation at sonnet" in path.read_text()


def test_nothing_is_proposed_below_the_minimum_sample(store: Store) -> None:
    store.insert_many(_workload())
    review = build_review(store, default_policy(), criteria=Criteria(min_samples=50))
    assert review.proposals == ()
    explain = build_review(store, default_policy(), criteria=Criteria(min_samples=10))
    assert "explain" in {p.task_type for p in explain.proposals}


def test_review_command_writes_a_policy_and_json(tmp_path: Path) -> None:
    url = str(tmp_path / "cli.db")
    with Store(url) as store:
        store.migrate()
        store.insert_many(_workload())
    out = tmp_path / "p.toml"
    result = CliRunner().invoke(app, ["review", "--db", url, "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert '"direction": "upgrade"' in result.output
    assert load_policy(out).config.routes["implement"].tier is Tier.OPUS
    bad = CliRunner().invoke(app, ["review", "--db", url, "--min-samples", "0"])
    assert bad.exit_code == 2
    assert "--min-samples" in bad.output


def test_a_proposal_for_a_custom_policy_keeps_the_rest_of_it(tmp_path: Path) -> None:
    """Reviewing a custom policy writes a proposal that extends that file, so adopting it
    keeps the policy's other settings (here: escalation validators and a name)."""
    url = str(tmp_path / "cli.db")
    with Store(url) as store:
        store.migrate()
        store.insert_many(_workload())
    (tmp_path / "policies").mkdir()
    custom = tmp_path / "policies" / "ours.toml"
    custom.write_text(
        'extends = "default"\nname = "ours"\n'
        '[escalation]\nenabled = true\n[[escalation.validators."*"]]\nkind = "non_empty"\n',
        encoding="utf-8",
    )
    out = tmp_path / "proposals" / "p.toml"
    out.parent.mkdir()
    result = CliRunner().invoke(
        app, ["review", "--db", url, "--policy", str(custom), "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert 'extends = "../policies/ours.toml"' in out.read_text()
    proposed = load_policy(out)
    assert proposed.config.routes["implement"].tier is Tier.OPUS  # the proposed change
    assert proposed.config.escalation == load_policy(custom).config.escalation  # kept
