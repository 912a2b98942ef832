"""What the fake server does with one ``/v1/messages`` request: the values a test queues.

    Reply        a 200 answer: canned text or content blocks, stop reason, usage, timing, and
                 extra stream events of unknown types to inject
    Fail         an HTTP error with Anthropic's error body (429, 529, 500, ... and headers)
    StreamError  a 200 stream that sends some events, then ``event: error``
    Drop         the connection closes before the response is complete

Every field has a default, so ``Reply()`` is "answer normally" and ``Drop()`` is "send the
headers, then hang up".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tierwise.messages.api_errors import ERROR_TYPES

STATUSES: dict[str, int] = {error_type: status for status, error_type in ERROR_TYPES.items()}

MESSAGES: dict[str, str] = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "authentication_error": "invalid x-api-key",
}


def error_message(error_type: str) -> str:
    """A plausible message for ``error_type`` when the test did not give one."""
    return MESSAGES.get(error_type, error_type.replace("_", " "))


@dataclass(frozen=True, slots=True)
class Inject:
    """An extra SSE event sent after the first ``after_events`` events of a stream.

    The default is an event of a type that does not exist yet, which clients and relays must
    pass through or skip, never choke on.
    """

    after_events: int = 1
    event: str = "future_event"
    data: Mapping[str, Any] | None = None  # default: {"type": event}


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer.

    ``text`` replaces the default text (which names the model and echoes the prompt);
    ``content`` replaces the whole content list instead (tool_use, thinking, ... blocks, sent
    as given; a tool_use block without an ``id`` gets one). ``usage`` entries override the
    computed ones, e.g. ``{"cache_read_input_tokens": 2048}``. ``latency`` is the wait before
    the response headers; ``chunk_delay`` the wait after each stream event (``None``: the
    config's).
    """

    text: str | None = None
    content: Sequence[Mapping[str, Any]] | None = None
    stop_reason: str | None = None
    stop_details: Mapping[str, Any] | None = None
    usage: Mapping[str, Any] | None = None
    latency: float = 0.0
    chunk_delay: float | None = None
    inject: Sequence[Inject] = ()


@dataclass(frozen=True, slots=True)
class Fail:
    """An HTTP error. ``error_type`` and ``message`` default from the status.

    ``headers`` are added as given (``retry-after``, ``x-should-retry``, ...). ``body``, when
    set, is sent verbatim instead of the Anthropic error JSON (e.g. a proxy's HTML 502 page).
    """

    status: int = 500
    error_type: str | None = None
    message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    latency: float = 0.0
    body: str | None = None

    @property
    def resolved_type(self) -> str:
        """The error type sent in the body."""
        return self.error_type or ERROR_TYPES.get(self.status, "api_error")


@dataclass(frozen=True, slots=True)
class StreamError:
    """A stream that sends ``after_events`` events of ``reply``, then ``event: error``.

    A non-streaming request gets the equivalent HTTP error instead (overloaded → 529), as the
    real API would.
    """

    after_events: int = 3
    error_type: str = "overloaded_error"
    message: str | None = None
    reply: Reply = field(default_factory=Reply)

    def as_fail(self) -> Fail:
        """The HTTP error a non-streaming request gets."""
        return Fail(STATUSES.get(self.error_type, 500), self.error_type, self.message)


@dataclass(frozen=True, slots=True)
class Drop:
    """The connection closes before the response is complete.

    The status line and headers (200) are sent, then ``after_events`` events of ``reply`` for
    a stream (none of the body for a non-streaming request), then the socket is closed.
    """

    after_events: int = 0
    reply: Reply = field(default_factory=Reply)


Behaviour = Reply | Fail | StreamError | Drop
