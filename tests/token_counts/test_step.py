"""The re-decision with a count keeps what bounded the first decision (a budget's ceiling)."""

from __future__ import annotations

from tierwise.core.decision import Action, Verdict
from tierwise.core.policy import default_policy
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter
from tierwise.serving.token_counts.counter import CountResult
from tierwise.serving.token_counts.step import count_reason, with_result

HUGE = "Find the bug in this code:\n```\n" + "ab " * 35_000 + "\n```"
BODY = {"model": "auto", "max_tokens": 10, "messages": [{"role": "user", "content": HUGE}]}


def test_the_count_re_decides_under_the_same_limits() -> None:
    router = MessagesRouter(Router(default_policy()))
    reason = "near a threshold"
    free = router.route(BODY, Hints())
    assert free.model == "claude-opus-5-5"
    assert with_result(router, free, reason, CountResult(30_000, "test")).model == (
        "claude-sonnet-5-5"
    )
    cap = (Verdict("budget", Action.CEILING, "budget 90% spent", tier=Tier.HAIKU),)
    capped = router.route(BODY, Hints(), limits=cap)
    assert capped.model == "claude-haiku-5-5"
    again = with_result(router, capped, reason, CountResult(30_000, "test"), limits=cap)
    assert again.model == "claude-haiku-5-5"
    assert again.decision is not None
    assert again.decision.context_tokens == 30_000
    assert again.decision.trace[-1].strategy == "token_count"


def test_no_reason_to_count_when_counting_is_off() -> None:
    router = MessagesRouter(Router(default_policy()))
    assert count_reason(router, router.route(BODY, Hints())) is None
