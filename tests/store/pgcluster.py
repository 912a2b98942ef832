"""A private PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` on a temp dir.

The tests stop and start the server to check the recorder survives an outage, so they need a
server of their own rather than a shared one. The binaries are found in ``$TIERWISE_PG_BIN``,
``/usr/lib/postgresql/<newest>/bin`` (Debian's packages) or on ``PATH``. ``initdb`` refuses to
run as root, so as root the server runs as the ``postgres`` user (Debian's package creates it)
or else ``nobody``, in a temp directory owned by that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BINARIES = ("initdb", "pg_ctl", "postgres")
SERVICE_USERS = ("postgres", "nobody")
SUPERUSER = "tierwise"


def find_bindir() -> tuple[Path | None, str]:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None`` and the name
    of the binary that is missing."""
    candidates: list[Path] = []
    if os.environ.get("TIERWISE_PG_BIN"):
        candidates.append(Path(os.environ["TIERWISE_PG_BIN"]))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    missing = BINARIES[0]
    for directory in candidates:
        absent = [name for name in BINARIES if not (directory / name).is_file()]
        if not absent:
            return directory, ""
        missing = absent[0]
    return None, missing


class PgCluster:
    """One PostgreSQL server on 127.0.0.1 and a free port, in a temp directory."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable  # False: fsync off (tests); True: as installed (benchmarks)
        self.port = _free_port()
        self._user: pwd.struct_passwd | None = _service_user() if os.geteuid() == 0 else None
        parent = "/tmp" if self._user is not None and os.path.isdir("/tmp") else None  # reachable
        self.base = Path(tempfile.mkdtemp(prefix="tierwise-pg-", dir=parent))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        if self._user is not None:
            os.chown(self.base, self._user.pw_uid, self._user.pw_gid)
        self.base.chmod(0o700)

    # -- lifecycle ------------------------------------------------------------------------

    def init(self) -> PgCluster:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.base}",
            "-c max_connections=100",
        ]
        if not self.durable:  # survives killing the server, not the machine: enough for tests
            options += ["-c fsync=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", " ".join(options), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``mode="immediate"`` is a crash (recovery runs at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        result = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return result.returncode == 0

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            if self.running():
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # -- databases ------------------------------------------------------------------------

    def url(self, database: str = "postgres", *, scheme: str = "postgresql") -> str:
        return f"{scheme}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = "t_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE DATABASE "{name}"', fast=" STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str, *, fast: str = "") -> None:
        """Run ``sql`` (plus ``fast``, a PostgreSQL 15+ clause) as the superuser."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            if conn.info.server_version >= 150000:
                sql += fast  # FILE_COPY: no WAL of the template, fast with fsync off
            conn.execute(sql.encode("utf-8"))

    def _run(self, binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        options: dict[str, Any] = {}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        if self._user is not None:
            options = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
            env["HOME"] = str(self.base)
        result = subprocess.run(
            [str(self.bindir / binary), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.base,
            check=False,
            timeout=120,
            **options,
        )
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{binary} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{log}"
            )
        return result


@contextlib.contextmanager
def running_cluster(bindir: Path, *, durable: bool = False) -> Iterator[PgCluster]:
    """A started cluster, destroyed afterwards (also if a test left it stopped)."""
    cluster = PgCluster(bindir, durable=durable)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def wait_until_accepting(cluster: PgCluster, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", cluster.port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _service_user() -> pwd.struct_passwd:
    for name in SERVICE_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
