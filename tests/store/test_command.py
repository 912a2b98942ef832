"""``tierwise db path|status|migrate``, on SQLite and PostgreSQL; passwords never printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tierwise.cli import app
from tierwise.ledger.store import Store
from tierwise.ledger.store.migrations import MIGRATIONS

from .conftest import RecordFactory


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["db", *args])
    return result.exit_code, result.stdout, result.stderr


def test_path_is_the_default_file_in_the_data_directory() -> None:
    code, out, _ = run("path")
    assert code == 0
    assert out.strip().endswith("tierwise.db")
    assert "tierwise-data" in out  # the suite's private data directory (tests/conftest.py)


def test_path_hides_a_postgresql_password() -> None:
    code, out, _ = run("path", "--db", "postgresql://app:hunter2@db.internal:5432/tierwise")
    assert code == 0
    assert "hunter2" not in out
    assert out.strip() == "postgresql+psycopg://app:***@db.internal:5432/tierwise"


def test_migrate_then_status(store_url: str, make_record: RecordFactory) -> None:
    code, out, _ = run("status", "--db", store_url)
    assert code == 0, out
    assert f"pending:    {', '.join(m.name for m in MIGRATIONS)}" in out
    code, out, _ = run("migrate", "--db", store_url)
    assert code == 0
    assert "applied m001_decisions" in out
    code, out, _ = run("migrate", "--db", store_url)
    assert "up to date" in out
    with Store(store_url) as store:
        store.insert_many([make_record() for _ in range(3)])
        store.spool().append([make_record(), make_record()])
        store.spool().close()
    code, out, _ = run("status", "--db", store_url)
    assert code == 0
    latest = MIGRATIONS[-1].name
    assert f"schema:     {len(MIGRATIONS)} migration(s) applied (latest: {latest})" in out
    assert "pending:    none" in out
    assert "records:    3" in out
    assert "spool:      2 record(s) in 1 file(s)" in out
    code, out, _ = run("status", "--db", store_url, "--json")
    status = json.loads(out)
    assert status["records"] == 3
    assert status["pending"] == []
    assert status["spool"]["records"] == 2


def test_status_of_a_database_not_created_yet(tmp_path: Path) -> None:
    code, out, _ = run("status", "--db", str(tmp_path / "new.db"))
    assert code == 0
    assert "(not created yet)" in out
    assert "records:    -" in out
    assert not (tmp_path / "new.db").exists()


def test_an_unreachable_database_is_one_line_and_exit_2() -> None:
    from .pgcluster import _free_port

    url = f"postgresql://app:hunter2@127.0.0.1:{_free_port()}/tierwise"
    code, out, err = run("status", "--db", url)
    assert code == 2
    assert err.startswith("error: cannot read the status of postgresql+psycopg://app:***@")
    assert "hunter2" not in out + err
    assert "Traceback" not in out + err


def test_a_bad_url_is_one_line_and_exit_2() -> None:
    code, _, err = run("migrate", "--db", "mysql://app:hunter2@h/d")
    assert code == 2
    assert "unsupported database URL" in err
    assert "hunter2" not in err


def test_the_cli_does_not_import_sqlalchemy() -> None:
    code = "import sys, tierwise.cli; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
