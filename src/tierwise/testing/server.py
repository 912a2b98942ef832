"""Run the fake Anthropic API on a real socket, in a background thread, for as long as a test.

A real socket matters: it is the only way to test what an HTTP client (the official SDK, the
proxy's upstream pool) sees when a stream is slow, breaks, or the connection drops.
"""

from __future__ import annotations

import logging
from typing import Self

from tierwise.serving.threaded_server import BackgroundServer
from tierwise.testing.app import fake_anthropic_app
from tierwise.testing.config import FakeConfig
from tierwise.testing.recording import RequestLog
from tierwise.testing.script import Script
from tierwise.testing.stream import ConnectionDropped

_UVICORN_LOGGER = "uvicorn.error"


class FakeAnthropicServer(BackgroundServer):
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
        super().__init__(
            fake_anthropic_app(self.config),
            host=host,
            port=port,
            name="the fake Anthropic server",
            lifespan="off",
            backlog=128,
            log_level=log_level,
            startup_timeout=startup_timeout,
        )
        self._quiet_drops = _QuietDrops()

    @property
    def script(self) -> Script:
        """The queue of behaviours (shortcut for ``config.script``)."""
        return self.config.script

    @property
    def log(self) -> RequestLog:
        """Every request received (shortcut for ``config.log``)."""
        return self.config.log

    def reset(self) -> None:
        """Forget queued behaviours, per-model defaults and the log (for a shared server)."""
        self.config.script.clear()
        self.config.log.clear()

    def start(self) -> Self:
        """Bind, start serving in a daemon thread, and return once it accepts connections."""
        logging.getLogger(_UVICORN_LOGGER).addFilter(self._quiet_drops)
        try:
            return super().start()
        except BaseException:
            logging.getLogger(_UVICORN_LOGGER).removeFilter(self._quiet_drops)
            raise

    def stop(self) -> None:
        """Stop serving (open streams get a short grace period) and release the port."""
        super().stop()
        logging.getLogger(_UVICORN_LOGGER).removeFilter(self._quiet_drops)


class _QuietDrops(logging.Filter):
    """Hides uvicorn's traceback for connections the script dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))
