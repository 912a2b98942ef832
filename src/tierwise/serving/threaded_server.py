"""An ASGI app under uvicorn on a loopback port, in a daemon thread.

The proxy (for tests, the demo and embedding) and the fake Anthropic API both run this way. The
socket is bound here, before the thread starts, so the port is known at once and ``start()``
returns only when connections are accepted.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Literal, Self

import anyio.to_thread
import uvicorn
from starlette.types import ASGIApp


class BackgroundServer:
    """``app`` on ``host`` and a free (or given) port, as a sync or async context manager.

    ``url`` is the base URL for a client (``http://127.0.0.1:PORT``, no ``/v1``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "tierwise-server",
        lifespan: Literal["on", "off"] = "on",
        backlog: int = 1024,
        log_level: str = "warning",
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self._host, self._port = host, port
        self._name, self._lifespan, self._backlog = name, lifespan, backlog
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None

    @property
    def port(self) -> int:
        """The port it listens on; only known once started."""
        if self._bound_port is None:
            raise RuntimeError(f"{self._name} has not been started")
        return self._bound_port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> Self:
        """Bind, serve in a daemon thread, and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(self._backlog)
        except OSError:
            sock.close()
            raise
        self._bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            lifespan=self._lifespan,
            http="h11",
            ws="none",
            loop="asyncio",
            server_header=False,
            timeout_graceful_shutdown=2,
            backlog=self._backlog,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start")
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
        self._server, self._thread, self._socket = None, None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)
