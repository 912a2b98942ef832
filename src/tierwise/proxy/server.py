"""Run the proxy under uvicorn: in the foreground (``tierwise serve``) or in a background thread.

One worker, one event loop: the conversation pins and the upstream pool live in this process,
and a single loop is plenty for a proxy that spends its time waiting on the upstream.
``ProxyServer`` runs it on a free port in a daemon thread, for tests and for embedding.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import anyio.to_thread
import uvicorn
from starlette.types import ASGIApp

from tierwise.proxy.defaults import DEFAULT_HOST


def serve(app: ASGIApp, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve ``app`` until interrupted (Ctrl-C)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=1,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws="none",
        server_header=False,
        timeout_graceful_shutdown=10,
    )


class ProxyServer:
    """``app`` on ``127.0.0.1`` and a free port, in a daemon thread, as a context manager.

    ``url`` is the base URL for a client (``http://127.0.0.1:PORT``, no ``/v1``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        log_level: str = "warning",
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self._host, self._port = host, port
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._bound_port is None:
            raise RuntimeError("the proxy has not been started")
        return f"http://{self._host}:{self._bound_port}"

    def start(self) -> ProxyServer:
        """Bind, serve in a daemon thread, and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(1024)
        except OSError:
            sock.close()
            raise
        self._bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            lifespan="on",
            http="h11",
            ws="none",
            loop="asyncio",
            server_header=False,
            timeout_graceful_shutdown=2,
            backlog=1024,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="tierwise-proxy", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the proxy did not start")
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

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ProxyServer:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)
