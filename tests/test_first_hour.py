"""What a new user hits in the first hour, through the real entry points: a missing extra, an
unreachable upstream, the demo's own store, a busy port, a mistyped path, the help text."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from tierwise.cli import app
from tierwise.testing import free_port, serve_process

DATA = Path(__file__).parent / "data"
SCHEMA_POLICY = """
extends = "default"
[escalation]
enabled = true
[[escalation.validators."*"]]
kind = "json_schema"
json_schema = { type = "object" }
"""


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def tierwise(
    *args: str,
    without: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``tierwise ARGS`` in a fresh interpreter, as if the modules ``without`` were not
    installed (``sys.modules[name] = None`` makes every import of them fail)."""
    code = (
        "import sys\n"
        f"for name in {list(without)!r}: sys.modules[name] = None\n"
        "from tierwise.cli import main\n"
        f"sys.argv = ['tierwise', *{list(args)!r}]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:"), lines
    return lines[0]


# ---------------------------------------------------------------- 1. train without `learn`


@pytest.mark.parametrize("missing", ["scipy", "sklearn"])
def test_train_without_the_learn_extra_names_the_extra(tmp_path: Path, missing: str) -> None:
    done = tierwise(
        "train",
        str(DATA / "routing_dev.jsonl"),
        "-o",
        str(tmp_path / "router.json"),
        without=(missing, f"{missing}.sparse", f"{missing}.linear_model"),
    )
    line = one_error_line(done)
    assert "pip install 'tierwise[learn]'" in line
    assert missing in line
    assert not (tmp_path / "router.json").exists()


# ---------------------------------------------------------------- 2. a policy needing an extra


def test_a_json_schema_policy_without_jsonschema_fails_at_load(tmp_path: Path) -> None:
    policy = tmp_path / "schema.toml"
    policy.write_text(SCHEMA_POLICY, encoding="utf-8")
    for command in (["recommend", "Sort the keys", "--policy", str(policy)], ["serve"]):
        args = [*command, "--policy", str(policy)] if command == ["serve"] else command
        done = tierwise(
            *args,
            "--no-record" if command == ["serve"] else "--json",
            without=("jsonschema",),
            timeout=30,
        )
        line = one_error_line(done)
        assert "pip install 'tierwise[validators]'" in line
        assert "json_schema" in line
        assert "tierwise proxy on" not in done.stderr  # serve never started


def test_the_same_policy_loads_when_jsonschema_is_installed(tmp_path: Path) -> None:
    policy = tmp_path / "schema.toml"
    policy.write_text(SCHEMA_POLICY, encoding="utf-8")
    result = run("recommend", "Sort the keys", "--policy", str(policy), "--json")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- 3./4./10. the demo


def test_demo_against_an_unreachable_upstream_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = tierwise(
        "demo", "--upstream", f"http://127.0.0.1:{port}", env={"TIERWISE_DATA_DIR": str(tmp_path)}
    )
    line = one_error_line(done)
    assert "unreachable" in line
    assert f"127.0.0.1:{port}" in line
    assert "request 1 of" in line


def test_demo_records_apart_from_serve_and_fits_80_columns(tmp_path: Path) -> None:
    done = tierwise("demo", env={"TIERWISE_DATA_DIR": str(tmp_path), "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    table = [line for line in lines if str(tmp_path) not in line]  # a long path may wrap
    assert all(cell_len(line) <= 80 for line in table), max(table, key=cell_len)
    assert len(lines) < 60  # one line per request, not ~190
    assert "???" not in done.stdout
    demo_db = tmp_path / "demo.db"
    assert demo_db.exists()
    assert not (tmp_path / "tierwise.db").exists()  # serve's default store is untouched
    assert str(demo_db) in done.stdout
    assert f"tierwise report --db {demo_db}" in done.stdout
    report = run("report", "--db", str(demo_db), "--json", "--since", "all")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["totals"]["requests"] == 32


def test_demo_db_option_chooses_the_store(tmp_path: Path) -> None:
    chosen = tmp_path / "mine.db"
    done = tierwise("demo", "--db", str(chosen), env={"TIERWISE_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert chosen.exists()
    assert not (tmp_path / "data" / "demo.db").exists()


def test_wide_demo_table_shows_the_baseline_column() -> None:
    done = tierwise("demo", env={"COLUMNS": "140"})
    assert done.returncode == 0, done.stderr
    assert "all-Opus" in done.stdout
    assert "['格式化']" in done.stdout  # the full reason, not the header's ASCII form
    assert "???" not in done.stdout


# ---------------------------------------------------------------- 7. serve


def test_serve_on_a_busy_port_is_one_line_before_any_banner() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = tierwise("serve", "--port", str(port), "--no-record", timeout=30)
    line = one_error_line(done)
    assert f"port {port}" in line
    assert "already in use" in line
    assert "startup complete" not in done.stderr


def test_serve_banner_names_the_pages_and_failures_are_logged() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with (
        serve_process("--upstream", dead, "--no-record") as served,
        anthropic.Anthropic(
            base_url=served.url, api_key="sk-ant-secret-value", max_retries=0
        ) as client,
        pytest.raises(anthropic.APIStatusError),
    ):
        client.messages.create(
            model="auto", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    assert f"{served.url}/dashboard" in served.stderr
    assert f"{served.url}/metrics" in served.stderr
    failures = [line for line in served.stderr.splitlines() if "failed: 502" in line]
    assert len(failures) == 1, served.stderr
    assert "model=auto" in failures[0]
    assert "sk-ant-secret-value" not in served.stderr


# ---------------------------------------------------------------- 5. replay of a learned policy


@pytest.fixture(scope="module")
def learned_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evaluation.synthetic import write_dataset
    from tierwise.analysis.evaluation.dataset import load_dataset
    from tierwise.analysis.training.train import examples_from_dataset, fit

    folder = tmp_path_factory.mktemp("learned")
    dataset = load_dataset(write_dataset(folder, tiers=3))
    router = folder / "router.json"
    fit(examples_from_dataset(dataset), dataset.tiers).save(router)
    policy = folder / "learned.toml"
    policy.write_text(
        'extends = "default"\nstrategies = ["task_type", "learned", "default"]\n'
        f"[learned]\nrouter = {json.dumps(str(router))}\n",
        encoding="utf-8",
    )
    return policy


def test_replay_of_a_learned_policy_leaves_out_records_without_text(
    tmp_path: Path, learned_policy: Path
) -> None:
    from replay.test_inputs import _record
    from tierwise.analysis.replay.engine import NEEDS_TEXT
    from tierwise.ledger.store import Store

    url = str(tmp_path / "kept.db")
    with Store(url) as store:
        store.migrate()
        store.insert_many(
            [
                _record("Reformat this JSON file", request_id="a"),
                _record("Explain this stack trace", request_id="b"),
                _record("Sort a list please", request_id="c", prompt="Sort a list please"),
                _record("Write tests for the parser", request_id="d", hint_task_type="test"),
            ]
        )
    args = ["replay", "--db", url, "--policy", str(learned_policy), "--since", "all"]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["skipped"] == {NEEDS_TEXT: 2}  # a and b: the learned router would decide
    assert report["replayed"] == 2  # c from its text; d by its task type hint
    assert sum(report["tiers_after"].values()) == 2  # the skipped ones are in no figure
    text = run(*args)
    assert text.exit_code == 0, text.output
    assert "skipped 2: the new policy's learned router scores the prompt text" in " ".join(
        text.stdout.split()
    )


# ---------------------------------------------------------------- 6. mistyped paths, bad lines


@pytest.mark.parametrize("command", ["report", "review", "replay", "estimate-error"])
def test_a_read_only_command_on_a_missing_sqlite_file_is_an_error(
    tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "no" / "such" / "x.db"
    extra = ["--policy", str(DATA / "dispatch_policy.toml")] if command == "replay" else []
    result = run(command, "--db", str(missing), *extra)
    assert result.exit_code == 2, result.output
    assert f"--db {missing}: no such database file" in result.stderr
    assert "no records" not in result.output
    assert not missing.parent.exists()  # nothing was created


def test_eval_of_a_missing_data_file_names_the_data_file(tmp_path: Path) -> None:
    result = run("eval", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert f"dataset {tmp_path / 'nope.jsonl'}: no such file" in result.stderr
    assert "meta.json" not in result.stderr


def test_route_batch_help_states_the_one_rule_for_bad_lines() -> None:
    result = run("route", "--help")
    assert "gets an {id, error} line" in " ".join(result.stdout.replace("│", " ").split())


# ---------------------------------------------------------------- 8. version and help


def test_version() -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tierwise {version('tierwise')}"


@pytest.mark.parametrize(
    "command",
    [["--help"], ["recommend", "--help"], ["serve", "--help"], ["db", "status", "--help"]],
)
def test_flags_in_help_show_no_type(command: list[str]) -> None:
    result = run(*command)
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout


def test_calibrate_prices_help_names_no_missing_option() -> None:
    result = run("calibrate", "--help")
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "default: --policy" not in text
    assert "(default: the shipped policy)" in text


# ---------------------------------------------------------------- 9. progress


@pytest.mark.parametrize("command", ["train", "calibrate", "replay"])
def test_long_commands_take_quiet(command: str) -> None:
    assert "--quiet" in run(command, "--help").stdout


def test_train_off_a_terminal_prints_no_progress(tmp_path: Path) -> None:
    from evaluation.synthetic import write_dataset

    data = write_dataset(tmp_path, tiers=3)
    done = tierwise("train", str(data), "-o", str(tmp_path / "router.json"), "--cv", "2")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("router written to"), done.stderr
    assert "\r" not in done.stderr


def test_fit_reports_its_steps(tmp_path: Path) -> None:
    from evaluation.synthetic import write_dataset
    from tierwise.analysis.evaluation.dataset import load_dataset
    from tierwise.analysis.training.train import examples_from_dataset, fit

    dataset = load_dataset(write_dataset(tmp_path, tiers=3))
    steps: list[str] = []
    fit(examples_from_dataset(dataset), dataset.tiers, progress=steps.append)
    assert steps[0].startswith("features of")
    assert steps[-1].startswith("fitting 3 heads")


# ---------------------------------------------------------------- 11. cost


def test_cost_never_calls_a_cheaper_tier_a_negative_saving() -> None:
    result = run("cost")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "-" not in text.split("all haiku")[1].split("│")[1]  # no "-1345 %"
    assert "costs 14.4× as much" in text
    assert "saves 64%" in text
    assert "routing saves about $350 a month (64%)" in text


# ---------------------------------------------------------------- 12. policy show


def test_policy_show_prints_the_shipped_default() -> None:
    from importlib import resources

    result = run("policy", "show")
    assert result.exit_code == 0, result.output
    shipped = resources.files("tierwise.core").joinpath("default_policy.toml").read_text("utf-8")
    assert result.stdout == shipped


def test_policy_show_resolves_extends_into_a_policy_that_loads(tmp_path: Path) -> None:
    import tomllib

    from tierwise.core.policy import load_policy, resolved_data

    policy = tmp_path / "mine.toml"
    policy.write_text(
        'extends = "default"\n[routes.format]\ntier = "opus"\n[[keywords.rules]]\nname = "x"\n'
        'task_type = "format"\nweight = 3\nphrases = ["tidy up", "整理"]\n',
        encoding="utf-8",
    )
    result = run("policy", "show", str(policy))
    assert result.exit_code == 0, result.output
    assert "extends" not in tomllib.loads(result.stdout)
    assert tomllib.loads(result.stdout) == resolved_data(policy)
    written = tmp_path / "resolved.toml"
    written.write_text(result.stdout, encoding="utf-8")
    resolved = load_policy(written).config.model_dump(exclude={"extends"})
    assert resolved == load_policy(policy).config.model_dump(exclude={"extends"})


def test_policy_show_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run("policy", "show", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "policy file not found" in result.stderr
