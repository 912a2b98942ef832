"""Review tests run on SQLite and, where a PostgreSQL server is available, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tierwise.ledger.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = str(tmp_path / "records.db")
    else:
        url = request.getfixturevalue("pg_url")  # skips, saying why, without PostgreSQL
    with Store(url) as opened:
        opened.migrate()
        yield opened
