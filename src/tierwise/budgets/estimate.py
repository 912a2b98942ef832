"""What a request may cost at most, before it is sent: the amount a budget reserves for it.

The routed model's price for the prompt-size estimate routing already made, plus ``max_tokens``
of output (thinking included: it is part of ``max_tokens``). An answer can never bill more output
than that, so the estimate errs high, which is what keeps a budget's cap: see docs/budgets.md.
``reserve_output_tokens`` (the policy) caps the output part for callers whose ``max_tokens`` is
far above what their answers use.
"""

from __future__ import annotations

from tierwise.core.errors import PricingError
from tierwise.core.pricing import cost
from tierwise.core.tokens import estimate_text_tokens
from tierwise.core.usage import Usage
from tierwise.messages.routing import Routed

DEFAULT_MAX_TOKENS = 4096  # a body without a usable max_tokens (the API would refuse it anyway)


def estimate_micro(routed: Routed, output_cap: int | None = None) -> int:
    """The request's estimated worst-case cost in micro-dollars (0: its model has no price)."""
    max_tokens = routed.body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        max_tokens = DEFAULT_MAX_TOKENS
    output = max_tokens if output_cap is None else min(max_tokens, output_cap)
    try:
        usage = Usage(input_tokens=_prompt_tokens(routed), output_tokens=output)
        return cost(usage, routed.model).total_micro_usd
    except PricingError:
        return 0


def _prompt_tokens(routed: Routed) -> int:
    """Routing's estimate of the prompt (the one its context rule used); else a rough count."""
    if routed.decision is not None and routed.decision.context_tokens > 0:
        return routed.decision.context_tokens
    request = routed.request
    if request is not None and request.context_tokens:
        return request.context_tokens
    return estimate_text_tokens(str(routed.body.get("messages", "")), routed.model)
