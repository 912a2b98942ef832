"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: the request pipeline, end to end.

``build_steps`` lists, once, the steps a request passes (``tierwise.serving.pipeline``: one
module each); ``MessagesEndpoint`` runs them in order until one answers. Around them sits one
error layer, like Starlette's outermost middleware: whatever happens, the caller gets an
Anthropic-shaped answer with the ``x-tierwise-*`` headers, and the outcome hook gets an
``Outcome`` once the response is finished.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.types import Receive, Scope, Send

from tierwise.escalation.classifier import Classifier
from tierwise.ledger.outcome import notify
from tierwise.serving.errors import ProxyError, bad_request, new_request_id
from tierwise.serving.exchange import Exchange
from tierwise.serving.pipeline import ProxyRequest, Step
from tierwise.serving.pipeline.authenticate import Authenticate
from tierwise.serving.pipeline.check_budget import CheckBudget, ReserveBudget
from tierwise.serving.pipeline.classify import Classify
from tierwise.serving.pipeline.count_near_threshold import CountNearThreshold
from tierwise.serving.pipeline.forward import Forward
from tierwise.serving.pipeline.read_body import ReadBody
from tierwise.serving.pipeline.replies import fail
from tierwise.serving.pipeline.route import Route
from tierwise.serving.pipeline.sample_for_shadow import SampleForShadow
from tierwise.serving.state import ProxyState
from tierwise.serving.token_counts.counter import TokenCounter
from tierwise.serving.wire import ClientGone

_log = logging.getLogger("tierwise.serving")
CLIENT_CLOSED = 499  # nginx's convention for "the client went away first"


class MessagesEndpoint:
    """An ASGI app for one of the two Messages paths."""

    def __init__(self, state: ProxyState, *, count_tokens: bool = False) -> None:
        self.state = state
        self.count_tokens = count_tokens
        self.endpoint = "count_tokens" if count_tokens else "messages"
        config = state.router.policy.config
        enabled = config.classifier.enabled and not count_tokens
        self.classifier = Classifier(state.router.policy) if enabled else None
        counting = config.context.count_tokens and not count_tokens
        self.counter = TokenCounter(config.context) if counting else None
        self.steps = build_steps(state, self.classifier, self.counter, count_tokens=count_tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = Exchange(new_request_id())
        request = ProxyRequest(
            ex, scope, receive, send, self.count_tokens, raw_headers=scope["headers"]
        )
        try:
            for step in self.steps:
                if await step(request):
                    break
        except ClientGone:
            ex.status, ex.error_type = CLIENT_CLOSED, "client_disconnected"
        except ProxyError as error:
            await fail(ex, send, error)
        except RecursionError:  # a body nested deeper than routing can walk: the caller's input
            if not ex.response_started:
                await fail(ex, send, bad_request("The request body is nested too deeply"))
        except Exception:
            _log.exception("unexpected error in %s (request %s)", self.endpoint, ex.request_id)
            if not ex.response_started:
                await fail(ex, send, ProxyError(500, "api_error", "internal proxy error"))
        finally:
            self._report(ex)

    def _report(self, ex: Exchange) -> None:
        """Hand the outcome to the hook; neither building it nor the hook may break serving."""
        try:
            outcome = ex.outcome(self.endpoint)
        except Exception:
            _log.exception("cannot build the outcome of request %s", ex.request_id)
            if self.state.budgets is not None:  # no outcome to settle it: give it back
                self.state.budgets.release(ex.request_id)
            return
        notify(self.state.on_outcome, outcome)
        shadow = self.state.shadow
        if shadow is not None and ex.capture is not None:
            shadow.offer(outcome, ex.capture)  # queues, or drops when full: never waits


def build_steps(
    state: ProxyState,
    classifier: Classifier | None,
    counter: TokenCounter | None,
    *,
    count_tokens: bool,
) -> Sequence[Step]:
    """The steps of one endpoint, in order; a feature that is off has no step."""
    settings, router, upstream = state.settings, state.router, state.upstream
    steps: list[Step] = []
    if settings.client_keys is not None:
        steps.append(Authenticate(settings.client_keys))
    steps.append(ReadBody(settings.max_body_bytes))
    check = None
    if state.budgets is not None:
        check = CheckBudget(state.budgets, router, refuse=not count_tokens)
        steps.append(check)
    steps.append(Route(router, server_key=settings.server_key))
    if counter is not None:
        steps.append(CountNearThreshold(counter, router, upstream))
    if classifier is not None:
        steps.append(Classify(classifier, router, upstream))
    if state.shadow is not None and not count_tokens:
        steps.append(SampleForShadow(state.shadow))
    if check is not None and not count_tokens:
        steps.append(ReserveBudget(check))
    steps.append(Forward(state))
    return tuple(steps)
