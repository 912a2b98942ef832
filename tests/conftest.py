"""Suite-wide: no test writes into the real user's data directory or database.

``tierwise demo`` and ``tierwise serve`` record decisions by default; here they record into a
temporary directory (subprocesses inherit the environment variable), and a
``TIERWISE_DATABASE_URL`` set in the developer's shell is ignored.

Shared by the store's and the report's tests: a private PostgreSQL server, started once per
session (``initdb`` + ``pg_ctl`` in a temp directory, see ``store/pgcluster.py``), and a new empty
database on it per test. Without the PostgreSQL binaries (Debian: ``apt-get install
postgresql``) those tests skip, naming the missing binary.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.pgcluster import PgCluster, find_bindir, running_cluster


@pytest.fixture(scope="session", autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("tierwise-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERWISE_DATA_DIR", str(directory))
        patch.delenv("TIERWISE_DATABASE_URL", raising=False)
        yield directory


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir, missing = find_bindir()
    if bindir is None:
        pytest.skip(
            f"PostgreSQL tests need the '{missing}' binary (Debian: apt-get install postgresql; "
            "or set TIERWISE_PG_BIN)"
        )
    with running_cluster(bindir) as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A new empty database on the private server, as a plain ``postgresql://`` URL."""
    if not pg_cluster.running():
        pg_cluster.start()
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    if not pg_cluster.running():
        pg_cluster.start()
    pg_cluster.drop_database(name)
