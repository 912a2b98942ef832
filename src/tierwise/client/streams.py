"""Routed streams: the SDK's stream managers, with the decision attached and the outcome told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from anthropic.lib.streaming import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    MessageStream,
    MessageStreamManager,
)

from tierwise.client.outcome import Answered, CallTimer, StreamWatch, report_call
from tierwise.escalation.cascade_client import AssistReport
from tierwise.ledger.outcome import OutcomeHook
from tierwise.messages.routing import MessagesRouter, Routed

if TYPE_CHECKING:
    pass

from tierwise.client.calls import Call
from tierwise.client.tagging import attach

_FormatT = TypeVar("_FormatT")


def _tag_final(events: Iterator[Any], routed: Routed, timer: CallTimer) -> Iterator[Any]:
    """Pass a ``MessageStream``'s events through, tagging the final message as it completes."""
    for event in events:
        timer.mark_first_byte()
        if getattr(event, "type", None) == "message_stop" and hasattr(event, "message"):
            attach(event.message, routed)
        yield event


async def _atag_final(
    events: AsyncIterator[Any], routed: Routed, timer: CallTimer
) -> AsyncIterator[Any]:
    async for event in events:
        timer.mark_first_byte()
        if getattr(event, "type", None) == "message_stop" and hasattr(event, "message"):
            attach(event.message, routed)
        yield event


@dataclass(frozen=True, slots=True)
class _Reporting:
    """What reporting a call's outcome needs: the hook, the caller's arguments, the timer."""

    hook: OutcomeHook
    kwargs: Mapping[str, Any]
    routed: Routed | None
    timer: CallTimer

    def done(
        self,
        answered: Answered | None = None,
        report: AssistReport | None = None,
        error: BaseException | None = None,
        stream: bool = False,
    ) -> None:
        report_call(
            self.hook,
            kwargs=self.kwargs,
            routed=self.routed,
            timer=self.timer,
            answered=answered,
            report=report,
            error=error,
            stream=stream,
        )

    def watch(self, events: Iterator[Any], request_id: str | None) -> Iterator[Any]:
        """A raw event stream (``create(stream=True)``), reported when it ends or closes."""
        watch = StreamWatch(request_id)
        error: BaseException | None = None
        try:
            for event in events:
                self.timer.mark_first_byte()
                watch.observe(event)
                yield event
        except Exception as exc:
            error = exc
            raise
        finally:
            self.done(watch.answered(), error=error, stream=True)

    async def awatch(
        self, events: AsyncIterator[Any], request_id: str | None
    ) -> AsyncIterator[Any]:
        watch = StreamWatch(request_id)
        error: BaseException | None = None
        try:
            async for event in events:
                self.timer.mark_first_byte()
                watch.observe(event)
                yield event
        except Exception as exc:
            error = exc
            raise
        finally:
            self.done(watch.answered(), error=error, stream=True)

    def stream_ended(
        self, stream: MessageStream[Any] | AsyncMessageStream[Any], error: BaseException | None
    ) -> None:
        """A ``MessageStream`` left its ``with`` block: report what it received so far."""
        snapshot = stream._current_snapshot_or_none()
        answered = Answered.of_message(snapshot) if snapshot is not None else Answered()
        answered.request_id = stream.request_id
        self.done(answered, error=error, stream=True)


def start_reporting(
    client: Any, kwargs: Mapping[str, Any], call: Call, timer: CallTimer
) -> _Reporting:
    return _Reporting(client.tierwise_on_outcome, kwargs, call.routed, timer)


def request_id_of(stream: object) -> str | None:
    """Anthropic's request id of a raw ``Stream`` (from its response headers)."""
    headers = getattr(getattr(stream, "response", None), "headers", None)
    found = headers.get("request-id") if headers is not None else None
    return found if isinstance(found, str) else None


# -- the stream managers -------------------------------------------------------------------


class RoutedMessageStreamManager(MessageStreamManager[_FormatT], Generic[_FormatT]):
    """The SDK's stream manager for a routed request: ``with`` it as usual.

    The decision is on the manager, on the ``MessageStream`` it yields, and on that stream's
    final message.
    """

    def __init__(
        self,
        inner: MessageStreamManager[_FormatT],
        routed: Routed,
        router: MessagesRouter,
        reporting: _Reporting,
    ) -> None:
        # The SDK manager is wrapped, not rebuilt: its request and output format stay its own.
        self._inner = inner
        self._routed = routed
        self._router = router
        self.reporting = reporting
        self._stream: MessageStream[_FormatT] | None = None
        attach(self, routed)

    def __enter__(self) -> MessageStream[_FormatT]:
        try:
            stream = self._inner.__enter__()
        except Exception as exc:
            self.reporting.done(error=exc, stream=True)
            raise
        self._stream = stream
        attach(stream, self._routed)
        stream._iterator = _tag_final(stream._iterator, self._routed, self.reporting.timer)
        self._router.record_served(self._routed, self._routed.model)
        return stream

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, exc_tb)
        if self._stream is not None:
            self.reporting.stream_ended(self._stream, exc)


class RoutedAsyncMessageStreamManager(AsyncMessageStreamManager[_FormatT], Generic[_FormatT]):
    """``RoutedMessageStreamManager`` for ``async with``."""

    def __init__(
        self,
        inner: AsyncMessageStreamManager[_FormatT],
        routed: Routed,
        router: MessagesRouter,
        reporting: _Reporting,
    ) -> None:
        self._inner = inner
        self._routed = routed
        self._router = router
        self.reporting = reporting
        self._stream: AsyncMessageStream[_FormatT] | None = None
        attach(self, routed)

    async def __aenter__(self) -> AsyncMessageStream[_FormatT]:
        try:
            stream = await self._inner.__aenter__()
        except Exception as exc:
            self.reporting.done(error=exc, stream=True)
            raise
        self._stream = stream
        attach(stream, self._routed)
        stream._iterator = _atag_final(stream._iterator, self._routed, self.reporting.timer)
        self._router.record_served(self._routed, self._routed.model)
        return stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, exc_tb)
        if self._stream is not None:
            self.reporting.stream_ended(self._stream, exc)
