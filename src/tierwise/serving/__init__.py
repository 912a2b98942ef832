"""The tierwise HTTP proxy: Anthropic's Messages API in front of Anthropic's Messages API.

Point any client at it (``ANTHROPIC_BASE_URL=http://127.0.0.1:8787``), ask for ``model:
"auto"``, and each request goes to the model the policy picks, with ``x-tierwise-*`` headers
saying which and why. Names are imported lazily so that ``tierwise`` commands that do not
serve never load Starlette or uvicorn.

    create_app(router, settings, on_outcome=...)   the ASGI app
    ProxySettings                                  host, port, upstream, limits, keys
    ProxyServer(app)                               run it in a background thread (tests)
    serve(app, host, port)                         run it in the foreground
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "create_app": "tierwise.serving.app",
    "ProxySettings": "tierwise.serving.settings",
    "ProxyServer": "tierwise.serving.server",
    "serve": "tierwise.serving.server",
    "ClientKeys": "tierwise.serving.auth",
}

__all__ = ["ClientKeys", "ProxyServer", "ProxySettings", "create_app", "serve"]

if TYPE_CHECKING:
    from tierwise.serving.app import create_app
    from tierwise.serving.auth import ClientKeys
    from tierwise.serving.server import ProxyServer, serve
    from tierwise.serving.settings import ProxySettings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.serving' has no attribute {name!r}")
    return getattr(import_module(module), name)
