"""Run the proxy under uvicorn: in the foreground (``tierwise serve``) or in a background thread.

One worker, one event loop: the conversation pins and the upstream pool live in this process,
and a single loop is plenty for a proxy that spends its time waiting on the upstream.
``ProxyServer`` runs it on a free port in a daemon thread, for tests and for embedding.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import signal
import socket
import sys

import uvicorn
from starlette.types import ASGIApp

from tierwise.core.errors import TierwiseError
from tierwise.serving.defaults import DEFAULT_HOST
from tierwise.serving.http_protocol import AnthropicShapedHttpProtocol
from tierwise.serving.threaded_server import BackgroundServer

DEFAULT_GRACE_SECONDS = 10.0  # how long in-flight requests may take to finish at shutdown
GC_YOUNG_THRESHOLD = 5_000  # allocations between two young-generation collections
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits for it


def tune_garbage_collector() -> None:
    """Collect less often in the serving process (``tierwise serve`` only, never in a library
    user's process).

    Each request allocates a few hundred short-lived containers, so CPython's default (a
    young-generation collection every 700 allocations) runs one every couple of requests, and
    each also scans whatever the recorder holds in its queue: with recording on that cost the
    event loop a fifth of its time (``benchmarks/bench_recording.py``). Freezing what start-up
    loaded (modules, the policy, the catalog) keeps it out of every later scan.

    Not too rarely either: at 50,000 allocations each collection found enough survivors to stall
    the loop for tens of milliseconds, once every hundred requests or so (1-client p99 +26 ms in
    ``benchmarks/bench_side_by_side.py``; +5 ms at 5,000, with the same throughput within noise).
    """
    gc.collect()
    gc.freeze()
    # the recorder's writer thread converts records in Python: when it holds the GIL, the event
    # loop waits until the next switch; a shorter interval bounds that wait (5 ms by default)
    sys.setswitchinterval(SWITCH_INTERVAL)
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class BindError(TierwiseError):
    """The address to listen on cannot be used (a busy port, an address not on this host)."""


BACKLOG = 2048  # uvicorn's default


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, bound before anything else starts, so a busy
    port is one clear ``BindError`` rather than a log after the start-up banner."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(
                f"port {port} on {host} is already in use (another tierwise serve?); "
                "stop it or choose another with --port"
            ) from None
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    sock: socket.socket | None = None,
) -> None:
    """Serve ``app`` on ``sock`` if given (see ``listen``), else on a socket bound to
    ``host:port`` now, until SIGINT or SIGTERM; both stop the same way: stop accepting, let
    requests in flight finish (at most ``grace_seconds``), and return normally.

    uvicorn drains on either signal and then re-raises the signal it caught. Re-raised SIGINT is
    a ``KeyboardInterrupt``, caught here, so the caller flushes the recorder; re-raised SIGTERM
    would kill the process on the spot, losing the records still queued. So while serving,
    SIGTERM (what systemd, ``docker stop`` and Kubernetes send) gets SIGINT's handler.
    """
    tune_garbage_collector()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=1,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        http=AnthropicShapedHttpProtocol,
        ws="none",
        server_header=False,
        timeout_graceful_shutdown=max(1, round(grace_seconds)),
    )
    server = uvicorn.Server(config)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # the re-raised signal, or a second one
            server.run(sockets=[sock if sock is not None else listen(host, port)])
    finally:
        signal.signal(signal.SIGTERM, previous)


class ProxyServer(BackgroundServer):
    """The proxy ``app`` on ``127.0.0.1`` and a free port, in a daemon thread, as a context
    manager (``url`` is the base URL for a client)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        log_level: str = "warning",
        startup_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            app,
            host=host,
            port=port,
            name="the tierwise proxy",
            lifespan="on",
            log_level=log_level,
            startup_timeout=startup_timeout,
        )
