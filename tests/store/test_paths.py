"""Which database: --db, else TIERWISE_DATABASE_URL, else tierwise.db in the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierwise.core.errors import StoreError
from tierwise.ledger.store.paths import data_dir, redact, resolve


def test_the_default_is_a_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    location = resolve(None, {"TIERWISE_DATA_DIR": str(tmp_path)})
    assert location.backend == "sqlite"
    assert location.path == tmp_path / "tierwise.db"
    assert location.url == f"sqlite:///{tmp_path}/tierwise.db"
    assert location.display == str(tmp_path / "tierwise.db")


def test_without_a_setting_the_data_directory_is_the_platform_one() -> None:
    path = data_dir({})
    assert path.name == "tierwise"
    assert path.is_absolute()


def test_the_environment_url_is_used_and_db_wins_over_it(tmp_path: Path) -> None:
    env = {"TIERWISE_DATABASE_URL": "postgresql://app@db.internal/tierwise"}
    assert resolve(None, env).url == "postgresql+psycopg://app@db.internal/tierwise"
    assert resolve(str(tmp_path / "x.db"), env).path == tmp_path / "x.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        (
            "postgresql+psycopg://u@h/d?sslmode=require",
            "postgresql+psycopg://u@h/d?sslmode=require",
        ),
        ("PostgreSQL://h/d", "postgresql+psycopg://h/d"),
    ],
)
def test_postgresql_urls_use_psycopg_3(given: str, expected: str) -> None:
    location = resolve(given, {})
    assert location.backend == "postgresql"
    assert location.url == expected
    assert location.path is None


def test_sqlite_urls_and_bare_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(f"sqlite:///{tmp_path}/a.db", {}).path == tmp_path / "a.db"
    monkeypatch.chdir(tmp_path)
    assert resolve("relative.db", {}).path == tmp_path / "relative.db"
    assert resolve("sqlite:///rel.db", {}).path == tmp_path / "rel.db"
    assert resolve("sqlite://", {}).path is None


@pytest.mark.parametrize("url", ["mysql://u:pw@h/d", "http://example.com", "postgresql://"])
def test_other_urls_are_refused_without_showing_a_password(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        resolve(url, {})
    assert ":pw@" not in str(caught.value)


def test_redaction_hides_passwords_in_the_userinfo_and_the_query() -> None:
    url = "postgresql+psycopg://app:hunter2@h/d?sslmode=require&password=hunter3"
    shown = redact(url)
    assert "hunter" not in shown
    assert shown == "postgresql+psycopg://app:***@h/d?sslmode=require&password=***"
    assert redact("postgresql://h/d") == "postgresql://h/d"


def test_the_spool_key_does_not_depend_on_the_password() -> None:
    one = resolve("postgresql://app:one@h/d", {})
    two = resolve("postgresql://app:two@h/d", {})
    other = resolve("postgresql://app:one@h/other", {})
    assert one.key == two.key != other.key
    assert one.key.startswith("postgresql-")
