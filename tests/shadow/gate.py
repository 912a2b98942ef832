"""The fake Anthropic API with a gate before one model: its requests wait until the test opens
the gate. A slow judge as an event the test controls, not a latency it hopes is long enough."""

from __future__ import annotations

import json
import threading

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierwise.serving.threaded_server import BackgroundServer
from tierwise.testing import FakeConfig, RequestLog, Script, fake_anthropic_app


class GatedFake(BackgroundServer):
    """``arrived`` is set when a request for ``model`` reaches the gate; ``gate.set()`` lets
    it (and later ones) through."""

    def __init__(self, model: str) -> None:
        self.config = FakeConfig()
        self.model = model
        self.arrived = threading.Event()
        self.gate = threading.Event()
        super().__init__(self._wrap(fake_anthropic_app(self.config)), lifespan="off")

    @property
    def script(self) -> Script:
        return self.config.script

    @property
    def log(self) -> RequestLog:
        return self.config.log

    def _wrap(self, inner: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            messages: list[Message] = []
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            body = b"".join(m.get("body", b"") for m in messages)
            try:
                model = json.loads(body).get("model") if body else None
            except ValueError:
                model = None
            if model == self.model:
                self.arrived.set()
                while not self.gate.is_set():
                    await anyio.sleep(0.005)
            pending = iter(messages)

            async def replay() -> Message:
                return next(pending, None) or await receive()

            await inner(scope, replay, send)

        return app
