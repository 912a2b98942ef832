"""Steps ``check_budget`` and ``reserve_budget``: the caller's budgets; a spent one is a 429.

Budgets that are close to their cap do not refuse: they become ceilings (``limits``) that the
route step hands to the router. Counting tokens is free, so ``count_tokens`` only reads the
limits. Just before forwarding, ``ReserveBudget`` reserves the routed request's estimated cost
in the shared store (off the event loop) and refuses the request the same way when it does not
fit: the reservation is what holds the cap across proxy processes.
"""

from __future__ import annotations

from tierwise.budgets.errors import BudgetExceededError
from tierwise.budgets.guard import BudgetGuard, user_id_of
from tierwise.budgets.wire import ERROR_TYPE, STATUS, refusal_body, refusal_headers
from tierwise.core.errors import InputError
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.errors import bad_request
from tierwise.serving.pipeline.context import ProxyRequest
from tierwise.serving.wire import JSON, send_bytes


class CheckBudget:
    """Reads the caller's budgets; refuses when one is spent (unless ``refuse`` is off)."""

    def __init__(self, budgets: BudgetGuard, router: MessagesRouter, *, refuse: bool) -> None:
        self.budgets = budgets
        self.router = router
        self.refuse = refuse

    async def __call__(self, request: ProxyRequest) -> bool:
        check = self.budgets.check(request.exchange.caller, user_id_of(request.body))
        request.budget = check
        if check.refusal is None or not self.refuse:
            return False
        await self._refuse(request, check.refusal)
        return True

    async def reserve(self, request: ProxyRequest) -> bool:
        """Reserve the routed request's estimated cost; refuse it when it does not fit."""
        ex = request.exchange
        refusal = await self.budgets.reserve_async(
            ex.request_id, ex.caller, user_id_of(request.body), request.routed
        )
        if refusal is None:
            return False
        await self._refuse(request, refusal)
        return True

    async def _refuse(self, request: ProxyRequest, refusal: BudgetExceededError) -> None:
        """429 in Anthropic's shape, ``retry-after`` the seconds until the month resets; the
        request is still recorded, its reason naming the budget."""
        ex = request.exchange
        try:
            ex.routed = self.router.refused(
                request.body,
                request.hints,
                f"budget: {refusal.message}",
                api_version=request.version,
            )
        except InputError as exc:
            raise bad_request(str(exc)) from None
        ex.status, ex.error_type = STATUS, ERROR_TYPE
        ex.response_started = True
        headers = [JSON, (b"request-id", ex.request_id.encode("ascii")), *refusal_headers(refusal)]
        headers += ex.tierwise_headers()
        await send_bytes(request.send, STATUS, headers, refusal_body(refusal, ex.request_id))


class ReserveBudget:
    """The ``reserve_budget`` step: ``CheckBudget.reserve``, after routing (and re-routing)."""

    def __init__(self, check: CheckBudget) -> None:
        self.check = check

    async def __call__(self, request: ProxyRequest) -> bool:
        return await self.check.reserve(request)
