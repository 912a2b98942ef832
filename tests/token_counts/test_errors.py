"""The estimate's error on hand-built records: the report's means, the suggested factor, the
store round trip of the count, and ``tierwise estimate-error``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tierwise.analysis.estimate_accuracy import ALL, estimate_errors, prompt_kind
from tierwise.cli import app
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

NOW = datetime.now(UTC)
PROSE: dict[str, Any] = {"text": True, "non_ascii": False, "code_blocks": 0}
CODE: dict[str, Any] = {"text": True, "non_ascii": False, "code_blocks": 2}


def _record(n: int, model: str, estimate: int, count: int | None, inputs: Any) -> DecisionRecord:
    return DecisionRecord(
        request_id=f"req-{n}",
        time=NOW - timedelta(minutes=n),
        endpoint="messages",
        status=200,
        routed=True,
        chosen_model=model,
        context_tokens=estimate,
        counted_context_tokens=count,
        routing_inputs=inputs,
    )


RECORDS = [
    _record(1, "claude-sonnet-5-5", 110, 100, PROSE),  # +10 %
    _record(2, "claude-sonnet-5-5", 90, 100, PROSE),  # -10 %
    _record(3, "claude-opus-5-5", 120, 100, CODE),  # +20 %
    _record(4, "claude-opus-5-5", 130, 100, CODE),  # +30 %
    _record(5, "claude-opus-5-5", 500, None, CODE),  # not counted: no pair
]


def _by_key(rows: list[Any]) -> dict[tuple[str, str], Any]:
    return {(row.model, row.kind): row for row in rows}


def test_mean_relative_error_and_suggested_factor_per_model_and_kind() -> None:
    rows = _by_key(estimate_errors(RECORDS))
    assert set(rows) == {
        ("claude-opus-5-5", "code"),
        ("claude-opus-5-5", ALL),
        ("claude-sonnet-5-5", "prose"),
        ("claude-sonnet-5-5", ALL),
        (ALL, ALL),
    }
    sonnet = rows["claude-sonnet-5-5", "prose"]
    assert sonnet.pairs == 2
    assert sonnet.mean_relative_error == pytest.approx(0.0)
    assert sonnet.mean_absolute_error == pytest.approx(0.10)
    assert sonnet.suggested_factor == pytest.approx(1.0)
    opus = rows["claude-opus-5-5", "code"]
    assert (opus.pairs, opus.mean_relative_error) == (2, pytest.approx(0.25))
    assert opus.suggested_factor == pytest.approx(0.8)
    overall = rows[ALL, ALL]
    assert overall.pairs == 4
    assert overall.mean_relative_error == pytest.approx(0.125)
    assert overall.suggested_factor == pytest.approx(1 / 1.125)


def test_the_suggested_factor_cancels_the_mean_error() -> None:
    rows = estimate_errors(RECORDS)
    factor = rows[-1].suggested_factor
    pairs = [(r.context_tokens, r.counted_context_tokens) for r in RECORDS]
    errors = [(factor * e - c) / c for e, c in pairs if e is not None and c is not None]
    assert sum(errors) / len(errors) == pytest.approx(0.0)


def test_no_pairs_no_rows() -> None:
    assert estimate_errors([r for r in RECORDS if r.counted_context_tokens is None]) == []


def test_prompt_kinds() -> None:
    assert prompt_kind(None) == "unknown"
    assert prompt_kind({"text": False}) == "unknown"
    assert prompt_kind(PROSE) == "prose"
    assert prompt_kind(CODE) == "code"
    assert prompt_kind({**CODE, "non_ascii": True}) == "non-ascii"


def test_the_store_keeps_the_count_beside_the_estimate(tmp_path: Path) -> None:
    with Store(str(tmp_path / "t.db")) as store:
        store.migrate()
        store.insert_many(RECORDS)
        back = {r.request_id: r for r in store.records()}
    assert (back["req-3"].context_tokens, back["req-3"].counted_context_tokens) == (120, 100)
    assert back["req-5"].counted_context_tokens is None
    line = RECORDS[0].to_json()
    assert DecisionRecord.from_json(line) == RECORDS[0]
    assert replace(RECORDS[0], counted_context_tokens=None) != RECORDS[0]


def test_the_command_prints_the_rows_and_the_factor(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    with Store(db) as store:
        store.migrate()
        store.insert_many(RECORDS)
    runner = CliRunner()
    result = runner.invoke(app, ["estimate-error", "--db", db, "--since", "all", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    overall = data[-1]
    assert (overall["model"], overall["kind"], overall["pairs"]) == (ALL, ALL, 4)
    assert overall["mean_relative_error"] == pytest.approx(0.125)
    text = runner.invoke(app, ["estimate-error", "--db", db, "--since", "all"])
    assert text.exit_code == 0, text.output
    assert "+25.0%" in text.output
    assert f"[context] estimate_factor = {1 / 1.125:.3f}" in text.output


def test_the_command_says_when_nothing_was_counted(tmp_path: Path) -> None:
    db = str(tmp_path / "empty.db")
    with Store(db) as store:
        store.migrate()
    result = CliRunner().invoke(app, ["estimate-error", "--db", db])
    assert result.exit_code == 0, result.output
    assert "no counted requests" in result.output
    assert "[context] count_tokens = true" in result.output
