"""The proxy's pre-routing step: count a near-threshold prompt, then decide with the count.

Like the classifier, it runs after the local decision and before the request goes out:
``count_reason`` says whether the decided request is near a threshold (and so worth a call);
``count_body`` is what is counted (the routed body's prompt, on the routed model); and
``with_result`` re-decides with the count — the same dispatch, the count replacing the
estimate — or, if no count was had, keeps the decision. Either way a ``token_count`` verdict
joins the trace, saying what was counted and what the decision used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from tierwise.core.decision import Action, Verdict
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.messages.sizing import with_count
from tierwise.serving.token_counts.band import nearest, thresholds
from tierwise.serving.token_counts.counter import CountResult

NAME = "token_count"
COUNTED_FIELDS = ("system", "messages", "tools", "tool_choice", "thinking", "mcp_servers")
_CREDENTIALS = (b"x-api-key", b"authorization")


def count_reason(router: MessagesRouter, routed: Routed) -> str | None:
    """Why this request's prompt should be counted, or ``None`` (no call) when it should not:
    counting is off, the request was not routed or is pinned, or its size is far from every
    threshold."""
    config = router.policy.config.context
    decision = routed.decision
    if not config.count_tokens or decision is None or routed.pinned or routed.request is None:
        return None
    estimate = decision.context_tokens
    line = nearest(estimate, thresholds(router.policy), config.count_band)
    if line is None:
        return None
    return (
        f"estimate ~{estimate:,} tokens is within {config.count_band:.0%} of "
        f"{line.name} ({line.tokens:,})"
    )


def has_key(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the upstream headers carry an API key (the caller's or the server's)."""
    return any(name in _CREDENTIALS and value.strip() for name, value in headers)


def count_body(routed: Routed) -> dict[str, Any]:
    """The count_tokens request for ``routed``: its prompt fields, on the model it goes to."""
    body = routed.body
    return {"model": routed.model, **{k: body[k] for k in COUNTED_FIELDS if k in body}}


def with_result(
    router: MessagesRouter,
    routed: Routed,
    reason: str,
    result: CountResult,
    *,
    api_version: str | None = None,
    limits: Sequence[Verdict] = (),
) -> Routed:
    """``routed`` re-decided with ``result``'s count (under the same budget ``limits`` it was
    routed with), or kept, with the reason, without one."""
    decision, request = routed.decision, routed.request
    if decision is None or request is None:
        return routed
    estimate = decision.context_tokens
    if result.tokens is None:
        why = f"{reason}; count_tokens {result.note}: decided with the estimate"
        verdict = Verdict(NAME, Action.PASS, why)
        return dataclasses.replace(
            routed, decision=dataclasses.replace(decision, trace=(*decision.trace, verdict))
        )
    counted = with_count(request, result.tokens)
    session = routed.session_id if routed.session_id != routed.conversation_key else None
    again = router.route_request(
        routed.source_body, counted, api_version=api_version, limits=limits, session=session
    )
    if again.decision is None:  # cannot happen: the same request routed a moment ago
        return routed
    why = (
        f"{reason}; count_tokens: {result.tokens:,} ({result.note}); decided with the count "
        f"instead of the estimate ~{estimate:,}"
    )
    verdict = Verdict(NAME, Action.PASS, why)
    trace = (*again.decision.trace, verdict)
    return dataclasses.replace(again, decision=dataclasses.replace(again.decision, trace=trace))
