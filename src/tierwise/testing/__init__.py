"""A fake Anthropic API that speaks the real wire format: for tierwise's tests, its demo, and yours.

It serves ``POST /v1/messages`` (JSON and SSE streaming), ``/v1/messages/count_tokens`` and
``/v1/models`` with the real response shapes, usage that follows the input, Anthropic's error
bodies and headers, and whatever a test scripts: canned replies, tool calls, 429s, 529s,
errors in the middle of a stream, dropped connections, event types that do not exist yet.
No API key and no network are needed::

    import anthropic
    from tierwise.testing import FakeAnthropicServer

    def test_my_code_survives_a_rate_limit() -> None:
        with FakeAnthropicServer() as fake:
            fake.script.rate_limited(retry_after=0.01, model="claude-opus-5-5")
            fake.script.reply("Paris.", model="claude-opus-5-5")
            with anthropic.Anthropic(base_url=fake.url, api_key="any") as client:
                message = client.messages.create(
                    model="claude-opus-5-5", max_tokens=100,
                    messages=[{"role": "user", "content": "Capital of France?"}],
                )
            assert message.content[0].text == "Paris."
            assert fake.log.models() == ["claude-opus-5-5"] * 2  # the SDK retried once

Unscripted requests get ``[model] ok: <first words of the prompt>``. ``async with`` works
too; one server can be shared across tests with ``fake.reset()`` between them; and
``fake_anthropic_app()`` is the bare ASGI app, for ``httpx.ASGITransport`` without a socket.
"""

from tierwise.testing.app import fake_anthropic_app
from tierwise.testing.behaviours import Behaviour, Drop, Fail, Inject, Reply, StreamError
from tierwise.testing.config import DEFAULT_MODELS, FakeConfig
from tierwise.testing.process import ServedProxy, free_port, serve_process
from tierwise.testing.recording import RecordedRequest, RequestLog
from tierwise.testing.script import Script
from tierwise.testing.server import FakeAnthropicServer
from tierwise.testing.stream import ConnectionDropped
from tierwise.testing.tokens import input_tokens, text_tokens

__all__ = [
    "DEFAULT_MODELS",
    "Behaviour",
    "ConnectionDropped",
    "Drop",
    "Fail",
    "FakeAnthropicServer",
    "FakeConfig",
    "Inject",
    "RecordedRequest",
    "Reply",
    "RequestLog",
    "Script",
    "ServedProxy",
    "StreamError",
    "fake_anthropic_app",
    "free_port",
    "input_tokens",
    "serve_process",
    "text_tokens",
]
