"""Who may see the dashboard: the proxy's client keys, from a header or a session cookie.

Without client keys the proxy is open (it is a local tool on loopback) and so is the dashboard.
With them, scripts send a key as they do for ``/v1/messages`` (``x-api-key`` or
``Authorization: Bearer``), and a browser opens ``/dashboard?key=KEY`` once: the key is checked,
and the answer is a redirect to ``/dashboard`` (so the key leaves the address bar and history)
carrying an HttpOnly, SameSite=Strict session cookie. The cookie holds the key's *name* signed
with a secret made when the proxy starts, never the key; a restart ends every session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import Request

from tierwise.serving.auth import ClientKeys
from tierwise.serving.errors import ProxyError

COOKIE = "tierwise_dashboard"


class DashboardAccess:
    """Checks a request against the client keys (none configured: everyone may look)."""

    def __init__(self, keys: ClientKeys | None) -> None:
        self.keys = keys
        self._secret = secrets.token_bytes(32)

    def check(self, request: Request) -> str | None:
        """The caller's key name (``None`` when the dashboard is open); a 401 otherwise."""
        if self.keys is None:
            return None
        x_api_key = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization")
        if x_api_key or authorization:
            return self.keys.authenticate(x_api_key, authorization)
        name = self._verify(request.cookies.get(COOKIE, ""))
        if name is None:
            raise ProxyError(
                401,
                "authentication_error",
                "the dashboard needs a tierwise client key: open /dashboard?key=YOUR_KEY "
                "in a browser, or send it as x-api-key",
            )
        return name

    def session_cookie(self, key: str) -> str:
        """The cookie value for a browser that presented ``key`` (a 401 if it is not one)."""
        assert self.keys is not None
        name = self.keys.authenticate(key, None)
        encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
        return f"{encoded}.{self._sign(encoded)}"

    def _verify(self, cookie: str) -> str | None:
        encoded, _, signature = cookie.partition(".")
        if not encoded or not hmac.compare_digest(signature, self._sign(encoded)):
            return None
        padded = encoded + "=" * (-len(encoded) % 4)
        return base64.urlsafe_b64decode(padded).decode()

    def _sign(self, encoded: str) -> str:
        return hmac.new(self._secret, encoded.encode(), hashlib.sha256).hexdigest()
