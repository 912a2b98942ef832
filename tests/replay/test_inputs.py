"""Routing inputs: captured once, stored as JSON, and enough to re-decide without the text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from tierwise.analysis.replay import Replayed, Replayer, RoutingInputs, Vocabulary
from tierwise.cli import app
from tierwise.core.policy import default_policy, load_policy
from tierwise.core.request import RouteRequest
from tierwise.learned.pipeline import Router
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter

PROMPT = "Fix the typo in the security warning banner\n\nTraceback (most recent call last):\n" + (
    '  File "app.py", line 3\n' * 4
)


def _record(text: str, **fields: object) -> DecisionRecord:
    """A record as the proxy makes it, routed by the default policy."""
    router = MessagesRouter(Router(default_policy()))
    body = {"model": "auto", "max_tokens": 100, "messages": [{"role": "user", "content": text}]}
    request = RouteRequest(text=text, requested_model="auto", context_tokens=50)
    routed = router.route_request(body, request)
    assert routed.vocabulary is not None
    assert routed.decision is not None
    inputs = RoutingInputs.capture(request, body, routed.vocabulary)
    values: dict[str, object] = {
        "request_id": f"r-{abs(hash(text))}",
        "time": datetime.now(UTC),
        "endpoint": "messages",
        "status": 200,
        "routed": True,
        "requested_model": "auto",
        "chosen_model": routed.model,
        "chosen_tier": routed.tier.value if routed.tier else None,
        "context_tokens": 50,
        "routing_inputs": inputs.as_json(),
        "trace": tuple(v.as_dict() for v in routed.decision.trace),
    }
    values.update(fields)
    return DecisionRecord(**values)  # type: ignore[arg-type]


def test_inputs_round_trip_through_json_and_keep_no_text() -> None:
    vocabulary = Vocabulary.of(default_policy().config)
    request = RouteRequest(text=PROMPT)
    inputs = RoutingInputs.capture(request, {"messages": []}, vocabulary)
    assert inputs.stack_trace
    assert inputs.files_mentioned >= 1
    assert "typo" in inputs.phrases
    assert inputs.phrases["typo"] is True
    assert "banner" not in str(inputs.as_json())  # words no rule names are not kept
    assert RoutingInputs.from_json(inputs.as_json()) == inputs
    assert RoutingInputs.from_json({"v": 99}) is None
    assert RoutingInputs.from_json(None) is None


def test_a_phrase_the_new_policy_adds_is_reported_as_never_looked_for(tmp_path: Path) -> None:
    record = _record("Tidy up this config file please")
    path = tmp_path / "new.toml"
    path.write_text(
        'extends = "default"\n[[keywords.rules]]\nname = "tidy"\ntask_type = "format"\n'
        'weight = 3\nphrases = ["tidy up"]\n',
        encoding="utf-8",
    )
    item = Replayer(load_policy(path)).one(record)
    assert isinstance(item, Replayed)
    assert any("'tidy up'" in note for note in item.notes)
    assert item.model == record.chosen_model  # taken as absent: the decision stands


def test_unknown_task_type_hint_is_refused_like_live(tmp_path: Path) -> None:
    record = _record("Write tests for the parser", hint_task_type="test")
    path = tmp_path / "fewer.toml"
    path.write_text('name = "tiny"\n[routes.other]\ntier = "haiku"\n', encoding="utf-8")
    item = Replayer(load_policy(path)).one(record)
    assert isinstance(item, Replayed)
    assert item.refused is not None
    assert "unknown task type 'test'" in item.refused


def test_replay_command_prints_json(tmp_path: Path) -> None:
    url = str(tmp_path / "cli.db")
    with Store(url) as store:
        store.migrate()
        store.insert_many([_record("Reformat this JSON file", cost_micro_usd=100,
                                   input_tokens=100, output_tokens=50)])  # fmt: skip
    policy = tmp_path / "p.toml"
    policy.write_text('extends = "default"\n[routes.format]\ntier = "opus"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["replay", "--db", url, "--policy", str(policy), "--json"])
    assert result.exit_code == 0, result.output
    assert '"changed_model": 1' in result.output
    assert '"tiers_after": {\n    "opus": 1' in result.output
    missing = CliRunner().invoke(app, ["replay", "--db", url, "--policy", str(tmp_path / "x")])
    assert missing.exit_code == 2
    assert "not found" in missing.output
