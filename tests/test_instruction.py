"""The instruction is the person's words; the payload is measured, never read for meaning."""

from __future__ import annotations

import pytest

from tierwise.core.features import PromptFeatures
from tierwise.core.instruction import split
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router

TABLE = (
    "service        p50_ms  p99_ms  rps\nauth-gw        4.1     38.2    5200\n"
    "orders-api     9.7     112.4   1900\nsearch         22.3    410.9   760"
)
DIFF = (
    "diff --git a/app/lock.py b/app/lock.py\n@@ -1,3 +1,3 @@\n-race_guard = Lock()\n"
    "+race_guard = RLock()\n deadlock_detector = None\n"
)


def test_keywords_in_a_pasted_table_are_payload() -> None:
    parts = split(f"turn this into a markdown table pls\n\n{TABLE}")
    assert parts.instruction.strip() == "turn this into a markdown table pls"
    assert parts.payload.tabular
    assert parts.payload.chars > len(TABLE) - 10


def test_a_diff_is_payload_with_its_kind_measured() -> None:
    parts = split(f"write a commit message for this\n{DIFF}")
    assert "deadlock" not in parts.instruction.lower()
    assert parts.payload.diff


def test_fenced_code_languages_and_stack_traces() -> None:
    text = (
        "why does this crash?\n```python\nimport os\n```\n"
        'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\n'
        "    main()\nValueError: bad\n"
    )
    features = PromptFeatures.of(RouteRequest(text=text))
    assert features.payload.languages == ("python",)
    assert features.stack_trace
    assert features.instruction_text.startswith("why does this crash?")


@pytest.mark.parametrize(
    "text",
    [
        f"把这个表格转成 markdown\n\n{TABLE}",
        f"この表を markdown の表に変換して\n\n{TABLE}",
        f"turn this into a markdown table pls\n\n{TABLE}",
    ],
)
def test_a_mechanical_ask_over_hard_sounding_data_stays_cheap(text: str) -> None:
    assert Router().decide(RouteRequest(text=text)).tier is Tier.HAIKU
