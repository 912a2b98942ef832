"""The page template, stylesheet and script shipped in the package's ``static`` folder.

Read once and kept: they are a few kilobytes and do not change while a process runs. The
version tag goes into asset URLs so a browser's cached copy is dropped after an upgrade.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

# What the proxy serves under /dashboard/static/, with its content type. Nothing else is served.
SERVED: dict[str, str] = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}


@cache
def asset(name: str) -> str:
    """The text of ``static/<name>``."""
    return files("tierwise.analysis.dashboard").joinpath("static", name).read_text(encoding="utf-8")


@cache
def version(name: str) -> str:
    """A short digest of the asset, for cache-busting URLs."""
    return hashlib.sha256(asset(name).encode()).hexdigest()[:12]
