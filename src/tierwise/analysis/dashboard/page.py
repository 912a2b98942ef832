"""The dashboard page: one template, filled for the proxy (live) or as one file (static).

Both variants carry a JSON config block the script reads; the static one also carries the
report itself and inlines the stylesheet and script, and its Content-Security-Policy allows
exactly those two inline blocks and no network at all, so the file shows the same numbers
anywhere, offline, years later.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from typing import Any

from tierwise.analysis.dashboard.assets import asset, version

_STYLE = "<!--tierwise:style-->"
_CONFIG = "<!--tierwise:config-->"
_SCRIPT = "<!--tierwise:script-->"


def static_page(report_json: dict[str, Any]) -> str:
    """One self-contained HTML document showing ``report_json`` (``Report.as_json()``).

    What ``tierwise report --html`` writes: no request leaves the page, and its Model Selector
    explains that it needs a running proxy.
    """
    css, script = asset("dashboard.css"), asset("dashboard.js")
    policy = (
        "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; "
        f"style-src '{_sha256(css)}'; script-src '{_sha256(script)}'"
    )
    head = f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n<style>{css}</style>'
    return _fill(head, {"mode": "static", "report": report_json}, f"<script>{script}</script>")


def live_page(base: str, *, recording: bool, task_types: Sequence[str], since: str, by: str) -> str:
    """The page the proxy serves at ``base`` (``/dashboard``); its script fetches the report
    from ``base/api`` and loads the assets from ``base/static``."""
    static = html.escape(f"{base}/static", quote=True)
    css = f'<link rel="stylesheet" href="{static}/dashboard.css?v={version("dashboard.css")}">'
    script = f'<script src="{static}/dashboard.js?v={version("dashboard.js")}"></script>'
    config: dict[str, Any] = {
        "mode": "live",
        "api": f"{base}/api",
        "recording": recording,
        "task_types": list(task_types),
        "since": since,
        "by": by,
    }
    return _fill(css, config, script)


def _fill(head: str, config: dict[str, Any], script: str) -> str:
    block = f'<script type="application/json" id="tierwise-config">{_json(config)}</script>'
    return (
        asset("dashboard.html")
        .replace(_STYLE, head, 1)
        .replace(_CONFIG, block, 1)
        .replace(_SCRIPT, script, 1)
    )


def _json(data: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: no ``<`` can close it or open a comment."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"sha256-{digest}"
