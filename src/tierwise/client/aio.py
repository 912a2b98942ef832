"""``tierwise.AsyncAnthropic``: the asynchronous client and its routed ``messages`` resource."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anthropic
from anthropic.resources.messages import AsyncMessages

from tierwise.budgets.guard import BudgetGuard
from tierwise.client.outcome import Answered, CallTimer
from tierwise.core.policy import Policy
from tierwise.escalation.cascade_client import ClientAssist
from tierwise.escalation.validators.checks import AnswerPredicate
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import OutcomeHook
from tierwise.messages.routing import MessagesRouter

if TYPE_CHECKING:
    pass

from tierwise.client.calls import (
    Call,
    client_budgets,
    hooks,
    messages_router,
    prepare,
    recorder,
    reported,
    resend,
    served,
)
from tierwise.client.streams import RoutedAsyncMessageStreamManager, request_id_of, start_reporting
from tierwise.client.tagging import attach


class RoutedAsyncMessages(AsyncMessages):
    """``RoutedMessages`` for ``AsyncAnthropic``."""

    def __init__(self, client: AsyncAnthropic) -> None:
        super().__init__(client)
        self.tierwise_router = client.tierwise_router

    def _routed_call(self, method: str, kwargs: dict[str, Any]) -> Call:
        client = self._client
        return prepare(
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
            reporting = start_reporting(self._client, kwargs, call, timer)
            assist = self._client.tierwise_assist
            report = None
            try:
                if call.routed is None or not assist.active(call.routed):
                    result = await super().create(**call.kwargs)
                    result = served(self.tierwise_router, call, result)
                else:
                    plain = self._client.with_options(max_retries=0)

                    async def answer(routed):
                        return await AsyncMessages.create(self, **resend(call, routed))

                    async def ask(body, timeout):
                        message = await plain.messages.create(**body, timeout=timeout)
                        return message.model_dump(mode="json")

                    message, report = await assist.arun(call.routed, answer, ask)
                    result = reported(self.tierwise_router, message, report)
            except Exception as exc:
                reporting.done(error=exc, stream=kwargs.get("stream") is True)
                raise
            if isinstance(result, anthropic.AsyncStream):
                result._iterator = reporting.awatch(result._iterator, request_id_of(result))
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
            reporting = start_reporting(self._client, kwargs, call, timer)
            return RoutedAsyncMessageStreamManager(
                manager, call.routed, self.tierwise_router, reporting
            )

        async def count_tokens(self, **kwargs):
            call = self._routed_call("count_tokens", kwargs)
            result = await super().count_tokens(**call.kwargs)
            if call.routed is not None:
                attach(result, call.routed)
            return result


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
        self.tierwise_router = messages_router(policy, router)
        self.tierwise_assist = assist or ClientAssist(self.tierwise_router, dict(validators or {}))
        self.tierwise_recorder = recorder(record, self.tierwise_router)
        self.tierwise_on_outcome = hooks(on_outcome, self.tierwise_recorder)
        self.tierwise_budgets, new = client_budgets(
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
