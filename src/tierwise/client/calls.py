"""One routed SDK call: the request routed locally, the SDK's method called with the routed body."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anthropic
from anthropic.resources.messages import Messages

from tierwise.budgets.guard import BudgetGuard, user_id_of
from tierwise.budgets.sdk import rate_limit_error
from tierwise.budgets.setup import budget_guard
from tierwise.core.decision import Verdict
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy, load_policy
from tierwise.escalation.cascade_client import AssistReport
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome, OutcomeHook, ignore_outcome, notify
from tierwise.messages.api_errors import new_request_id
from tierwise.messages.hints import HINT_HEADERS, Hints, without_hint_metadata
from tierwise.messages.routing import MessagesRouter, Routed

if TYPE_CHECKING:
    from tierwise.ledger.recorder import Recorder

from tierwise.client.tagging import REPORT, attach

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


def messages_router(
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


def recorder(record: bool | str, router: MessagesRouter) -> Recorder | None:
    """A recorder on the chosen store, or ``None`` when not recording."""
    if record is False:
        return None
    from tierwise.ledger.recorder import Recorder
    from tierwise.ledger.records import policy_fingerprint
    from tierwise.ledger.store import Store

    store = Store(None if record is True else record)
    return Recorder(store, policy_fingerprint=policy_fingerprint(router.policy))


def hooks(on_outcome: OutcomeHook | None, recorder: Recorder | None) -> OutcomeHook:
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
class Call:
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


def prepare(
    router: MessagesRouter,
    method: str,
    kwargs: dict[str, Any],
    client_headers: Mapping[str, Any],
    budgets: BudgetGuard | None = None,
    base_url: str = "",
) -> Call:
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
        return Call(out, None)
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
    return Call(out, routed)


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


def client_budgets(
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


def served(router: MessagesRouter, call: Call, result: _ResponseT) -> _ResponseT:
    """Tag what the SDK returned with its routing, and pin the conversation to the server."""
    if call.routed is None:
        return result
    attach(result, call.routed)
    served = getattr(result, "model", None)
    router.record_served(call.routed, served if isinstance(served, str) else call.routed.model)
    return result


def resend(call: Call, routed: Routed) -> dict[str, Any]:
    """The SDK keyword arguments that send ``routed`` (re-aimed by the classifier or the
    cascade) with the caller's own SDK options."""
    out = {k: v for k, v in call.kwargs.items() if k in _SDK_ONLY and k != "extra_body"}
    params = _PARAMS["create"]
    extra = {key: value for key, value in routed.body.items() if key not in params}
    out.update({key: value for key, value in routed.body.items() if key in params})
    if extra:
        out["extra_body"] = extra
    return out


def reported(router: MessagesRouter, message: _ResponseT, report: AssistReport) -> _ResponseT:
    """Tag ``message`` with the request that produced it and the report of how it was made."""
    served = report.served
    if served is not None:
        attach(message, served)
        router.record_served(served, served.model)
    with contextlib.suppress(AttributeError, TypeError):  # SDK types take the attribute
        object.__setattr__(message, REPORT, report)
    return message
