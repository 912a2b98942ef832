"""The drop-in SDK client: ``tierwise.Anthropic`` and ``tierwise.AsyncAnthropic``.

They are the official ``anthropic`` clients with routing in ``client.messages``: ``create``,
``stream`` and ``count_tokens`` route a request whose ``model`` is a routing alias (or any
catalog model in rewrite mode) locally, with the same ``MessagesRouter`` the proxy uses, then
call the real SDK method with the routed body. Everything else — constructor arguments, the SDK's
own keyword arguments (``extra_headers``, ``timeout``...), return types, errors, retries — is the
SDK's. A concrete model id passes through untouched. ::

    import tierwise
    from tierwise.client import decision_of

    client = tierwise.Anthropic()  # policy="my-policy.toml" to use your own
    message = client.messages.create(
        model="auto", max_tokens=1024, messages=[{"role": "user", "content": "Fix the typo"}],
        extra_headers={"x-tierwise-task-type": "boilerplate"},  # optional hints
    )
    print(message.model, decision_of(message).reason)

Hints go in ``extra_headers`` or the client's ``default_headers`` (``x-tierwise-*``), or in
``metadata`` (``tierwise_*`` keys); all are removed before the request is sent. The decision
rides on what the SDK returns: read it with ``decision_of`` / ``routed_of`` (a ``Message``, a
raw ``Stream``, a ``MessageStream`` and its final message, a stream manager, a
``MessageTokensCount``). ``client.beta.messages`` is the SDK's own and is not routed.

The SDK is an optional dependency: ``pip install 'tierwise[sdk]'``.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

try:
    import anthropic
    from anthropic.lib.streaming import (
        AsyncMessageStream,
        AsyncMessageStreamManager,
        MessageStream,
        MessageStreamManager,
    )
    from anthropic.resources.messages import AsyncMessages, Messages
except ImportError as exc:
    raise ImportError(
        "tierwise.Anthropic and tierwise.AsyncAnthropic need the official anthropic SDK: "
        "pip install 'tierwise[sdk]'"
    ) from exc

from tierwise.budgets.guard import BudgetGuard, user_id_of
from tierwise.budgets.sdk import rate_limit_error
from tierwise.budgets.setup import budget_guard
from tierwise.client.outcome import Answered, CallTimer, StreamWatch, report_call
from tierwise.core.decision import Decision, Verdict
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy, load_policy
from tierwise.escalation.cascade_client import AssistReport, ClientAssist
from tierwise.escalation.validators.checks import AnswerPredicate
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome, OutcomeHook, ignore_outcome, notify
from tierwise.messages.hints import HINT_HEADERS, Hints, without_hint_metadata
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.serving.errors import new_request_id

if TYPE_CHECKING:
    from tierwise.ledger.recorder import Recorder

__all__ = ["Anthropic", "AsyncAnthropic", "decision_of", "report_of", "routed_of"]

_ATTRIBUTE = "_tierwise_routed"
_REPORT = "_tierwise_report"
# Keyword arguments of the SDK methods that are not body fields: they pass through as given.
_SDK_ONLY = frozenset(
    {
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
        "user_profile_id",
        "workspace_id",
        "output_format",
    }
)
_HINT_HEADER_NAMES = frozenset(HINT_HEADERS)
_ResponseT = TypeVar("_ResponseT")


def decision_of(obj: object) -> Decision | None:
    """The routing decision behind something the client returned (``None``: not routed)."""
    routed = routed_of(obj)
    return routed.decision if routed is not None else None


def routed_of(obj: object) -> Routed | None:
    """The ``Routed`` request behind something the client returned, or ``None``."""
    routed = getattr(obj, _ATTRIBUTE, None)
    if isinstance(routed, Routed):
        return routed
    entry = _REGISTRY.get(id(obj))
    if entry is not None and entry[0]() is obj:
        return entry[1]
    return None


# Objects that refuse new attributes (``__slots__`` without ``__dict__``) are remembered here,
# by id, until they are collected; SDK types take the attribute and never land here.
_REGISTRY: dict[int, tuple[weakref.ref[Any], Routed]] = {}


def _attach(obj: object, routed: Routed) -> None:
    try:
        object.__setattr__(obj, _ATTRIBUTE, routed)
    except (AttributeError, TypeError):
        try:
            ref = weakref.ref(obj)
        except TypeError:
            return  # neither an attribute nor a weak reference: nothing safe to do
        key = id(obj)
        _REGISTRY[key] = (ref, routed)
        weakref.finalize(obj, _REGISTRY.pop, key, None)


def _messages_router(
    policy: Policy | str | Path | None, router: Router | MessagesRouter | None
) -> MessagesRouter:
    if policy is not None and router is not None:
        raise InputError("pass either policy or router to the tierwise client, not both")
    if isinstance(router, MessagesRouter):
        return router
    if isinstance(router, Router):
        return MessagesRouter(router)
    if isinstance(policy, Policy):
        return MessagesRouter(Router(policy))
    if policy is not None:
        return MessagesRouter(Router(load_policy(policy)))
    return MessagesRouter(Router())


def _recorder(record: bool | str, router: MessagesRouter) -> Recorder | None:
    """A recorder on the chosen store, or ``None`` when not recording."""
    if record is False:
        return None
    from tierwise.ledger.recorder import Recorder
    from tierwise.ledger.records import policy_fingerprint
    from tierwise.ledger.store import Store

    store = Store(None if record is True else record)
    return Recorder(store, policy_fingerprint=policy_fingerprint(router.policy))


def _hooks(on_outcome: OutcomeHook | None, recorder: Recorder | None) -> OutcomeHook:
    """One hook calling the caller's and the recorder's (each failure contained)."""
    hooks = [hook for hook in (on_outcome, recorder.record if recorder else None) if hook]
    if not hooks:
        return ignore_outcome
    if len(hooks) == 1:
        return hooks[0]

    def both(outcome: Outcome) -> None:
        for hook in hooks:
            notify(hook, outcome)

    return both


# -- one call: from SDK keyword arguments to routed keyword arguments --------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    kwargs: dict[str, Any]  # for the SDK method
    routed: Routed | None  # None: passed through without routing


def _body_params(method: Callable[..., Any]) -> frozenset[str]:
    """The body fields an SDK method takes as keyword arguments."""
    names = inspect.signature(method).parameters
    return frozenset(name for name in names if name != "self" and name not in _SDK_ONLY)


_PARAMS: dict[str, frozenset[str]] = {
    "create": _body_params(Messages.create),
    "stream": _body_params(Messages.stream),
    "count_tokens": _body_params(Messages.count_tokens),
}


def _prepare(
    router: MessagesRouter,
    method: str,
    kwargs: dict[str, Any],
    client_headers: Mapping[str, Any],
    budgets: BudgetGuard | None = None,
    base_url: str = "",
) -> _Call:
    """Route one SDK call: the keyword arguments to send, and the routing behind them.

    With ``budgets``, a user (``metadata.user_id``) whose budget is spent gets the SDK's
    ``RateLimitError`` before anything is sent (``count_tokens`` is free: never refused).
    """
    limits = _budget_limits(budgets, method, kwargs, base_url)
    headers, hints_headers = _split_headers(kwargs.get("extra_headers"))
    defaults = [name for name in client_headers if str(name).lower() in _HINT_HEADER_NAMES]
    if defaults:  # hints set once as the client's default_headers: use them, never send them
        given = {name.lower(): client_headers[name] for name in defaults}
        hints_headers = {**{k: v for k, v in given.items() if isinstance(v, str)}, **hints_headers}
        headers = {**(headers or {}), **dict.fromkeys(defaults, anthropic.omit)}
    model = kwargs.get("model")
    if not isinstance(model, str) or not router.routes_model(model, limits):
        out = _without_hint_metadata(kwargs)
        if isinstance(out.get("extra_body"), Mapping):
            out["extra_body"] = _without_hint_metadata(out["extra_body"])
        if headers is not None:
            out["extra_headers"] = headers
        return _Call(out, None)
    body = {k: v for k, v in kwargs.items() if k not in _SDK_ONLY and not _omitted(v)}
    messages = body.get("messages")
    if isinstance(messages, Iterable) and not isinstance(messages, list | str | Mapping):
        body["messages"] = list(messages)  # the SDK takes any iterable; routing reads it twice
    extra_body = kwargs.get("extra_body")
    if isinstance(extra_body, Mapping):
        body.update(extra_body)
    hints = Hints.from_request(hints_headers, body)
    version = _version(headers, client_headers)
    if method == "count_tokens":
        routed = router.route_count_tokens(body, hints, api_version=version, limits=limits)
    else:
        routed = router.route(body, hints, api_version=version, limits=limits)
    params = _PARAMS[method]
    out = {k: v for k, v in kwargs.items() if k in _SDK_ONLY and k != "extra_body"}
    extra: dict[str, Any] = {}
    for key, value in routed.body.items():
        if key in params:
            out[key] = value
        else:
            extra[key] = value
    if extra:
        out["extra_body"] = extra
    if headers is not None:
        out["extra_headers"] = headers
    return _Call(out, routed)


def _budget_limits(
    budgets: BudgetGuard | None, method: str, kwargs: Mapping[str, Any], base_url: str
) -> tuple[Verdict, ...]:
    """The budgets' verdicts on a call; raises the SDK's ``RateLimitError`` for a spent one."""
    if budgets is None:
        return ()
    fields = dict(kwargs)
    extra = kwargs.get("extra_body")
    if isinstance(extra, Mapping):
        fields.update(extra)
    check = budgets.check(None, user_id_of(fields))
    if check.refusal is not None and method != "count_tokens":
        raise rate_limit_error(check.refusal, base_url, new_request_id()) from check.refusal
    return check.limits


def _client_budgets(
    budgets: BudgetGuard | None, router: MessagesRouter, recorder: Recorder | None
) -> tuple[BudgetGuard | None, bool]:
    """The client's guard (``budgets`` when shared by a copy), and whether it is new here
    (then its charges join the client's hook and its refresher starts now)."""
    if budgets is not None:
        return budgets, False
    setup = budget_guard(
        router.policy.config.budgets, recorder.store if recorder is not None else None
    )
    if setup.guard is not None:
        setup.guard.start()
    return setup.guard, setup.guard is not None


def _without_hint_metadata(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with tierwise's hint keys removed from a ``metadata`` mapping among them."""
    if isinstance(fields.get("metadata"), Mapping):
        return without_hint_metadata(fields)
    return dict(fields)


def _split_headers(extra: object) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The caller's ``extra_headers`` without tierwise's hint headers, and those hints."""
    if not isinstance(extra, Mapping):
        return None, {}
    kept: dict[str, Any] = {}
    hints: dict[str, str] = {}
    for name, value in extra.items():
        lowered = name.lower() if isinstance(name, str) else name
        if lowered in _HINT_HEADER_NAMES:
            if isinstance(value, str):
                hints[lowered] = value
        else:
            kept[name] = value
    return kept, hints


def _version(headers: Mapping[str, Any] | None, client_headers: Mapping[str, Any]) -> str | None:
    for source in (headers or {}, client_headers):
        for name, value in source.items():
            if isinstance(name, str) and name.lower() == "anthropic-version":
                return value if isinstance(value, str) else None
    return None


def _omitted(value: object) -> bool:
    return isinstance(value, anthropic.Omit | anthropic.NotGiven)


def _served(router: MessagesRouter, call: _Call, result: _ResponseT) -> _ResponseT:
    """Tag what the SDK returned with its routing, and pin the conversation to the server."""
    if call.routed is None:
        return result
    _attach(result, call.routed)
    served = getattr(result, "model", None)
    router.record_served(call.routed, served if isinstance(served, str) else call.routed.model)
    return result


def _resend(call: _Call, routed: Routed) -> dict[str, Any]:
    """The SDK keyword arguments that send ``routed`` (re-aimed by the classifier or the
    cascade) with the caller's own SDK options."""
    out = {k: v for k, v in call.kwargs.items() if k in _SDK_ONLY and k != "extra_body"}
    params = _PARAMS["create"]
    extra = {key: value for key, value in routed.body.items() if key not in params}
    out.update({key: value for key, value in routed.body.items() if key in params})
    if extra:
        out["extra_body"] = extra
    return out


def _reported(router: MessagesRouter, message: _ResponseT, report: AssistReport) -> _ResponseT:
    """Tag ``message`` with the request that produced it and the report of how it was made."""
    served = report.served
    if served is not None:
        _attach(message, served)
        router.record_served(served, served.model)
    with contextlib.suppress(AttributeError, TypeError):  # SDK types take the attribute
        object.__setattr__(message, _REPORT, report)
    return message


def report_of(obj: object) -> AssistReport | None:
    """How a message from ``create`` was made: its attempts (escalations included), each
    attempt's usage, cost and verdicts, and the classifier and judge calls; ``None`` for a
    request that needed neither."""
    report = getattr(obj, _REPORT, None)
    return report if isinstance(report, AssistReport) else None


def _tag_final(events: Iterator[Any], routed: Routed, timer: CallTimer) -> Iterator[Any]:
    """Pass a ``MessageStream``'s events through, tagging the final message as it completes."""
    for event in events:
        timer.mark_first_byte()
        if getattr(event, "type", None) == "message_stop" and hasattr(event, "message"):
            _attach(event.message, routed)
        yield event


async def _atag_final(
    events: AsyncIterator[Any], routed: Routed, timer: CallTimer
) -> AsyncIterator[Any]:
    async for event in events:
        timer.mark_first_byte()
        if getattr(event, "type", None) == "message_stop" and hasattr(event, "message"):
            _attach(event.message, routed)
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


def _reporting(client: Any, kwargs: Mapping[str, Any], call: _Call, timer: CallTimer) -> _Reporting:
    return _Reporting(client.tierwise_on_outcome, kwargs, call.routed, timer)


def _request_id_of(stream: object) -> str | None:
    """Anthropic's request id of a raw ``Stream`` (from its response headers)."""
    headers = getattr(getattr(stream, "response", None), "headers", None)
    found = headers.get("request-id") if headers is not None else None
    return found if isinstance(found, str) else None


# -- the stream managers -------------------------------------------------------------------

_FormatT = TypeVar("_FormatT")


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
        self._reporting = reporting
        self._stream: MessageStream[_FormatT] | None = None
        _attach(self, routed)

    def __enter__(self) -> MessageStream[_FormatT]:
        try:
            stream = self._inner.__enter__()
        except Exception as exc:
            self._reporting.done(error=exc, stream=True)
            raise
        self._stream = stream
        _attach(stream, self._routed)
        stream._iterator = _tag_final(stream._iterator, self._routed, self._reporting.timer)
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
            self._reporting.stream_ended(self._stream, exc)


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
        self._reporting = reporting
        self._stream: AsyncMessageStream[_FormatT] | None = None
        _attach(self, routed)

    async def __aenter__(self) -> AsyncMessageStream[_FormatT]:
        try:
            stream = await self._inner.__aenter__()
        except Exception as exc:
            self._reporting.done(error=exc, stream=True)
            raise
        self._stream = stream
        _attach(stream, self._routed)
        stream._iterator = _atag_final(stream._iterator, self._routed, self._reporting.timer)
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
            self._reporting.stream_ended(self._stream, exc)


# -- the resources ---------------------------------------------------------------------------


class RoutedMessages(Messages):
    """``client.messages`` with routing in ``create``, ``stream`` and ``count_tokens``.

    The methods keep the SDK's signatures (type checkers see the SDK's own); at run time they
    route, then call the SDK's implementation with the routed arguments.
    """

    def __init__(self, client: Anthropic) -> None:
        super().__init__(client)
        self.tierwise_router = client.tierwise_router

    def _routed_call(self, method: str, kwargs: dict[str, Any]) -> _Call:
        client = self._client
        return _prepare(
            self.tierwise_router,
            method,
            kwargs,
            client.default_headers,
            getattr(client, "tierwise_budgets", None),  # set by tierwise's client classes
            str(client.base_url),
        )

    if not TYPE_CHECKING:  # untyped shims; the typed work is in _prepare and _served

        def create(self, **kwargs):
            timer = CallTimer()
            call = self._routed_call("create", kwargs)
            timer.mark_decided()
            reporting = _reporting(self._client, kwargs, call, timer)
            assist = self._client.tierwise_assist
            report = None
            try:
                if call.routed is None or not assist.active(call.routed):
                    result = _served(self.tierwise_router, call, super().create(**call.kwargs))
                else:
                    plain = self._client.with_options(max_retries=0)

                    def answer(routed):
                        return Messages.create(self, **_resend(call, routed))

                    def ask(body, timeout):
                        message = plain.messages.create(**body, timeout=timeout)
                        return message.model_dump(mode="json")

                    message, report = assist.run(call.routed, answer, ask)
                    result = _reported(self.tierwise_router, message, report)
            except Exception as exc:
                reporting.done(error=exc, stream=kwargs.get("stream") is True)
                raise
            if isinstance(result, anthropic.Stream):  # create(stream=True): report at its end
                result._iterator = reporting.watch(result._iterator, _request_id_of(result))
            else:
                reporting.done(Answered.of_message(result), report)
            return result

        def stream(self, **kwargs):
            timer = CallTimer()
            call = self._routed_call("stream", kwargs)
            timer.mark_decided()
            manager = super().stream(**call.kwargs)
            if call.routed is None:
                return manager
            reporting = _reporting(self._client, kwargs, call, timer)
            return RoutedMessageStreamManager(manager, call.routed, self.tierwise_router, reporting)

        def count_tokens(self, **kwargs):
            call = self._routed_call("count_tokens", kwargs)
            result = super().count_tokens(**call.kwargs)
            if call.routed is not None:
                _attach(result, call.routed)
            return result


class RoutedAsyncMessages(AsyncMessages):
    """``RoutedMessages`` for ``AsyncAnthropic``."""

    def __init__(self, client: AsyncAnthropic) -> None:
        super().__init__(client)
        self.tierwise_router = client.tierwise_router

    def _routed_call(self, method: str, kwargs: dict[str, Any]) -> _Call:
        client = self._client
        return _prepare(
            self.tierwise_router,
            method,
            kwargs,
            client.default_headers,
            getattr(client, "tierwise_budgets", None),  # set by tierwise's client classes
            str(client.base_url),
        )

    if not TYPE_CHECKING:

        async def create(self, **kwargs):
            timer = CallTimer()
            call = self._routed_call("create", kwargs)
            timer.mark_decided()
            reporting = _reporting(self._client, kwargs, call, timer)
            assist = self._client.tierwise_assist
            report = None
            try:
                if call.routed is None or not assist.active(call.routed):
                    result = await super().create(**call.kwargs)
                    result = _served(self.tierwise_router, call, result)
                else:
                    plain = self._client.with_options(max_retries=0)

                    async def answer(routed):
                        return await AsyncMessages.create(self, **_resend(call, routed))

                    async def ask(body, timeout):
                        message = await plain.messages.create(**body, timeout=timeout)
                        return message.model_dump(mode="json")

                    message, report = await assist.arun(call.routed, answer, ask)
                    result = _reported(self.tierwise_router, message, report)
            except Exception as exc:
                reporting.done(error=exc, stream=kwargs.get("stream") is True)
                raise
            if isinstance(result, anthropic.AsyncStream):
                result._iterator = reporting.awatch(result._iterator, _request_id_of(result))
            else:
                reporting.done(Answered.of_message(result), report)
            return result

        def stream(self, **kwargs):
            timer = CallTimer()
            call = self._routed_call("stream", kwargs)
            timer.mark_decided()
            manager = super().stream(**call.kwargs)
            if call.routed is None:
                return manager
            reporting = _reporting(self._client, kwargs, call, timer)
            return RoutedAsyncMessageStreamManager(
                manager, call.routed, self.tierwise_router, reporting
            )

        async def count_tokens(self, **kwargs):
            call = self._routed_call("count_tokens", kwargs)
            result = await super().count_tokens(**call.kwargs)
            if call.routed is not None:
                _attach(result, call.routed)
            return result


# -- the clients -----------------------------------------------------------------------------


class Anthropic(anthropic.Anthropic):
    """``anthropic.Anthropic`` whose ``messages`` route ``model="auto"`` (see the module doc).

    ``policy`` is a ``Policy`` or a policy file (default: the shipped policy); ``router`` a
    ``Router`` or a ``MessagesRouter`` to share (its pins too). ``validators`` are Python checks
    ``(answer, request) -> bool`` that the policy's ``callable`` validators name; when the
    policy enables the classifier or escalation, ``messages.create`` runs them (``report_of``
    tells what happened).

    ``record=True`` writes a decision record for every ``create`` and ``stream``, like the
    proxy, to ``TIERWISE_DATABASE_URL`` or the default SQLite file (a string: that SQLite path
    or ``postgresql://`` URL); ``on_outcome`` is called with each call's ``Outcome``. Records
    leave through the recorder's queue, never blocking a call; ``close()`` flushes them.
    Every other argument is the SDK's.
    """

    def __init__(
        self,
        *,
        policy: Policy | str | Path | None = None,
        router: Router | MessagesRouter | None = None,
        validators: Mapping[str, AnswerPredicate] | None = None,
        assist: ClientAssist | None = None,
        on_outcome: OutcomeHook | None = None,
        record: bool | str = False,
        budgets: BudgetGuard | None = None,
        **kwargs: Any,
    ) -> None:
        self.tierwise_router = _messages_router(policy, router)
        self.tierwise_assist = assist or ClientAssist(self.tierwise_router, dict(validators or {}))
        self.tierwise_recorder = _recorder(record, self.tierwise_router)
        self.tierwise_on_outcome = _hooks(on_outcome, self.tierwise_recorder)
        self.tierwise_budgets, new = _client_budgets(
            budgets, self.tierwise_router, self.tierwise_recorder
        )
        if new and self.tierwise_budgets is not None:
            self.tierwise_on_outcome = self.tierwise_budgets.observe(self.tierwise_on_outcome)
        super().__init__(**kwargs)

    @cached_property
    def messages(self) -> RoutedMessages:
        return RoutedMessages(self)

    def close(self) -> None:
        """Close the HTTP client and flush this client's records (copies share both)."""
        super().close()
        if self.tierwise_recorder is not None:
            self.tierwise_recorder.close()
        if self.tierwise_budgets is not None:
            self.tierwise_budgets.close()

    if not TYPE_CHECKING:  # copies (with_options) keep the router and its pins

        def copy(self, *args, _extra_kwargs=None, **kwargs):
            extra = {
                "router": self.tierwise_router,
                "assist": self.tierwise_assist,
                "on_outcome": self.tierwise_on_outcome,  # the recorder too, shared
                "budgets": self.tierwise_budgets,
                **(_extra_kwargs or {}),
            }
            return super().copy(*args, _extra_kwargs=extra, **kwargs)

        with_options = copy


class AsyncAnthropic(anthropic.AsyncAnthropic):
    """``anthropic.AsyncAnthropic`` whose ``messages`` route ``model="auto"``."""

    def __init__(
        self,
        *,
        policy: Policy | str | Path | None = None,
        router: Router | MessagesRouter | None = None,
        validators: Mapping[str, AnswerPredicate] | None = None,
        assist: ClientAssist | None = None,
        on_outcome: OutcomeHook | None = None,
        record: bool | str = False,
        budgets: BudgetGuard | None = None,
        **kwargs: Any,
    ) -> None:
        self.tierwise_router = _messages_router(policy, router)
        self.tierwise_assist = assist or ClientAssist(self.tierwise_router, dict(validators or {}))
        self.tierwise_recorder = _recorder(record, self.tierwise_router)
        self.tierwise_on_outcome = _hooks(on_outcome, self.tierwise_recorder)
        self.tierwise_budgets, new = _client_budgets(
            budgets, self.tierwise_router, self.tierwise_recorder
        )
        if new and self.tierwise_budgets is not None:
            self.tierwise_on_outcome = self.tierwise_budgets.observe(self.tierwise_on_outcome)
        super().__init__(**kwargs)

    @cached_property
    def messages(self) -> RoutedAsyncMessages:
        return RoutedAsyncMessages(self)

    async def close(self) -> None:
        """Close the HTTP client and flush this client's records (copies share both)."""
        await super().close()
        if self.tierwise_recorder is not None:
            self.tierwise_recorder.close()  # a short wait for the writer thread at most
        if self.tierwise_budgets is not None:
            self.tierwise_budgets.close()

    if not TYPE_CHECKING:

        def copy(self, *args, _extra_kwargs=None, **kwargs):
            extra = {
                "router": self.tierwise_router,
                "assist": self.tierwise_assist,
                "on_outcome": self.tierwise_on_outcome,  # the recorder too, shared
                "budgets": self.tierwise_budgets,
                **(_extra_kwargs or {}),
            }
            return super().copy(*args, _extra_kwargs=extra, **kwargs)

        with_options = copy
