"""``static_page``: one self-contained document, the report inside it, nothing fetched."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

from tierwise.analysis.dashboard import static_page
from tierwise.analysis.report import build_report
from tierwise.ledger.store import Store

SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
STYLE = re.compile(r"<style>(.*?)</style>", re.S)
CONFIG = re.compile(r'<script type="application/json" id="tierwise-config">(.*?)</script>', re.S)


def _report(store: Store) -> dict[str, Any]:
    return build_report(store, by="tier").as_json()


def test_the_report_is_embedded_as_json(store: Store) -> None:
    report = _report(store)
    page = static_page(report)
    match = CONFIG.search(page)
    assert match is not None
    assert json.loads(match.group(1)) == {"mode": "static", "report": report}


def test_text_from_records_cannot_close_the_script(store: Store) -> None:
    report = _report(store)
    report["recent"][0]["reason"] = "</script><script>alert(1)</script><!-- ]]>"
    page = static_page(report)
    assert page.count("</script>") == 2  # the data block and the inlined script, no more
    match = CONFIG.search(page)
    assert match is not None
    assert json.loads(match.group(1))["report"]["recent"][0]["reason"] == (
        "</script><script>alert(1)</script><!-- ]]>"
    )


def test_script_and_style_are_inline_and_nothing_is_fetched(store: Store) -> None:
    page = static_page(_report(store))
    assert not re.search(r"\b(src|href)\s*=", page)
    script, style = SCRIPT.search(page), STYLE.search(page)
    assert script is not None
    assert "function" in script.group(1)
    assert style is not None
    assert "--accent" in style.group(1)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert policy is not None
    for block in (script.group(1), style.group(1)):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy.group(1)  # exactly these blocks may run
    assert "default-src 'none'" in policy.group(1)


def test_the_selector_explains_it_needs_a_proxy(store: Store) -> None:
    page = static_page(_report(store))
    assert "The Model Selector needs a running proxy" in page
    assert "tierwise serve" in page


def test_values_json_cannot_carry_are_refused() -> None:
    with pytest.raises(ValueError, match="JSON"):
        static_page({"totals": {"savings_pct": float("nan")}})
