"""Which prompts are near a threshold, and the size a decision is made with (count, else the
estimate times the policy's factor)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tierwise.core.errors import PolicyError
from tierwise.core.policy import default_policy
from tierwise.core.request import RouteRequest
from tierwise.core.tokens import corrected
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import Hints
from tierwise.messages.routing import MessagesRouter
from tierwise.messages.sizing import counted_tokens, sized, with_count
from tierwise.serving.token_counts.band import Threshold, nearest, thresholds

from .conftest import policy_with

HUGE = "Find the bug in this code:\n```\n" + "ab " * 35_000 + "\n```"


def test_the_thresholds_are_the_policy_lines_and_every_enabled_window() -> None:
    policy = default_policy()
    found = thresholds(policy)
    context = policy.config.context
    assert Threshold("context.large_read_tokens", context.large_read_tokens) in found
    assert Threshold("context.deep_read_tokens", context.deep_read_tokens) in found
    windows = {policy.model_for(tier).context_window for tier in policy.ladder}
    assert windows <= {t.tokens for t in found}
    assert [t.tokens for t in found] == sorted({t.tokens for t in found})


def test_nearest_is_within_the_band_and_picks_the_closest() -> None:
    lines = (Threshold("small", 10_000), Threshold("big", 40_000))
    assert nearest(7_500, lines, 0.25) == lines[0]  # exactly 25 % below
    assert nearest(7_499, lines, 0.25) is None
    assert nearest(12_500, lines, 0.25) == lines[0]
    assert nearest(31_000, lines, 0.25) == lines[1]
    assert nearest(20_000, lines, 0.25) is None  # far from both
    assert nearest(20_000, lines, 0.5) == lines[1]  # 50 % from big, 100 % from small


def test_sized_prefers_the_count_then_the_corrected_estimate() -> None:
    request = RouteRequest(text="x", context_tokens=1_000)
    assert sized(request, 1.0) is request
    assert sized(request, 0.8).context_tokens == 800
    assert sized(request, 1.13).context_tokens == math.ceil(1_000 * 1.13)
    counted = with_count(request, 700)
    assert counted_tokens(counted) == 700
    assert counted.context_tokens == 1_000  # the estimate is kept beside the count
    assert sized(counted, 0.5).context_tokens == 700  # a count is never "corrected"
    assert counted_tokens(request) is None
    assert sized(RouteRequest(text="x"), 0.5).context_tokens is None


def test_corrected_rounds_up() -> None:
    assert corrected(10, 1.0) == 10
    assert corrected(10, 0.71) == 8
    assert corrected(0, 2.0) == 0


def test_the_policy_factor_moves_the_decision_without_any_call(tmp_path: Path) -> None:
    body = {"model": "auto", "max_tokens": 10, "messages": [{"role": "user", "content": HUGE}]}
    plain = MessagesRouter(Router(default_policy())).route(body, Hints())
    policy = policy_with(tmp_path, "[context]\nestimate_factor = 0.7\n")
    scaled = MessagesRouter(Router(policy)).route(body, Hints())
    assert plain.model == "claude-opus-5-5"
    assert scaled.model == "claude-sonnet-5-5"
    assert plain.request is not None
    assert scaled.request is not None
    estimate = plain.request.context_tokens
    assert estimate is not None
    assert scaled.request.context_tokens == estimate  # the record keeps the raw estimate
    assert scaled.decision is not None
    assert scaled.decision.context_tokens == math.ceil(estimate * 0.7)


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ("count_band = 0", "count_band"),
        ("count_band = 1.5", "count_band"),
        ("count_timeout = 0", "count_timeout"),
        ("estimate_factor = 0", "estimate_factor"),
        ("count_cache_size = -1", "count_cache_size"),
        ("count_tokens = 'maybe'", "count_tokens"),
    ],
)
def test_bad_settings_name_the_field(tmp_path: Path, toml: str, field: str) -> None:
    with pytest.raises(PolicyError, match=f"context.{field}"):
        policy_with(tmp_path, f"[context]\n{toml}\n")
