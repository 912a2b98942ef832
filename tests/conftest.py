"""Suite-wide: no test writes into the real user's data directory or database.

``tierwise demo`` and ``tierwise serve`` record decisions by default; here they record into a
temporary directory (subprocesses inherit the environment variable), and a
``TIERWISE_DATABASE_URL`` set in the developer's shell is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("tierwise-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERWISE_DATA_DIR", str(directory))
        patch.delenv("TIERWISE_DATABASE_URL", raising=False)
        yield directory
