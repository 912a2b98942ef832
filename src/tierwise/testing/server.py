"""Run the fake Anthropic API on a real socket, in a background thread, for as long as a test.

A real socket matters: it is the only way to test what an HTTP client (the official SDK, the
proxy's upstream pool) sees when a stream is slow, breaks, or the connection drops.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import anyio.to_thread
import uvicorn

from tierwise.testing.app import fake_anthropic_app
from tierwise.testing.config import FakeConfig
from tierwise.testing.recording import RequestLog
from tierwise.testing.script import Script
from tierwise.testing.stream import ConnectionDropped

_UVICORN_LOGGER = "uvicorn.error"


class FakeAnthropicServer:
    """The fake API on ``127.0.0.1`` and a free port, as a (sync or async) context manager.

    ``url`` is the base URL to give a client (``http://127.0.0.1:PORT``, no ``/v1``);
    ``script`` and ``log`` are the config's, for queuing behaviours and reading requests.
    """

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        log_level: str = "warning",
    ) -> None:
        self.config = config or FakeConfig()
        self.app = fake_anthropic_app(self.config)
        self._host, self._port = host, port
        self._startup_timeout = startup_timeout
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._quiet_drops = _QuietDrops()

    @property
    def script(self) -> Script:
        """The queue of behaviours (shortcut for ``config.script``)."""
        return self.config.script

    @property
    def log(self) -> RequestLog:
        """Every request received (shortcut for ``config.log``)."""
        return self.config.log

    @property
    def port(self) -> int:
        """The port the server listens on; only known once started."""
        if self._bound_port is None:
            raise RuntimeError("the fake Anthropic server has not been started")
        return self._bound_port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self._host}:{self.port}"

    def reset(self) -> None:
        """Forget queued behaviours, per-model defaults and the log (for a shared server)."""
        self.config.script.clear()
        self.config.log.clear()

    def start(self) -> FakeAnthropicServer:
        """Bind, start serving in a daemon thread, and return once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the fake Anthropic server is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self._bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-anthropic", daemon=True
        )
        logging.getLogger(_UVICORN_LOGGER).addFilter(self._quiet_drops)
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake Anthropic server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving (open streams get a short grace period) and release the port."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None or thread is None or sock is None:
            return
        server.should_exit = True
        thread.join(timeout=5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()
        logging.getLogger(_UVICORN_LOGGER).removeFilter(self._quiet_drops)
        self._server, self._thread, self._socket = None, None, None

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeAnthropicServer:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)


class _QuietDrops(logging.Filter):
    """Hides uvicorn's traceback for connections the script dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))
