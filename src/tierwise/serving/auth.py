"""Who may use the proxy, in server-key mode: named client keys, compared in constant time.

By default the proxy holds no key: each caller's ``x-api-key`` or ``Authorization: Bearer``
goes upstream unchanged and Anthropic decides. When the proxy is given its own Anthropic key,
anyone who can reach it could spend that key, so callers must then present a proxy key of
their own. Keys are stored only as SHA-256 digests; a caller is known by the key's *name*.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tierwise.core.errors import ConfigError
from tierwise.serving.errors import ProxyError

CLIENT_KEYS_ENV = "TIERWISE_CLIENT_KEYS"


@dataclass(frozen=True)
class ClientKeys:
    """Named proxy keys. ``authenticate`` returns the caller's name or raises a 401."""

    _digests: tuple[tuple[str, bytes], ...] = field(repr=False)

    @classmethod
    def parse(cls, text: str, source: str) -> ClientKeys:
        """``name: key`` entries, one per line (or comma-separated); ``#`` starts a comment."""
        entries: list[tuple[str, bytes]] = []
        names: set[str] = set()
        for number, line in enumerate(text.replace(",", "\n").splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, key = (part.strip() for part in line.partition(":"))
            if not sep or not name or not key:
                raise ConfigError(f"{source}: entry {number} is not 'name: key'")
            if not _token_like(key):
                raise ConfigError(f"{source}: client key {name!r} must be printable ASCII")
            if name in names:
                raise ConfigError(f"{source}: client key name {name!r} is repeated")
            names.add(name)
            entries.append((name, _digest(key)))
        if not entries:
            raise ConfigError(f"{source}: no client keys")
        return cls(tuple(entries))

    @classmethod
    def load(cls, path: Path | None, environ: Mapping[str, str]) -> ClientKeys | None:
        """Keys from ``path``, else from ``$TIERWISE_CLIENT_KEYS``, else ``None``."""
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: cannot read the client keys file ({exc})") from None
            return cls.parse(text, str(path))
        text = environ.get(CLIENT_KEYS_ENV, "")
        return cls.parse(text, f"${CLIENT_KEYS_ENV}") if text.strip() else None

    @property
    def names(self) -> tuple[str, ...]:
        """The key names, in file order."""
        return tuple(name for name, _ in self._digests)

    def authenticate(self, x_api_key: str | None, authorization: str | None) -> str:
        """The name of the key the caller presented; a 401 ``authentication_error`` otherwise.

        Every stored digest is compared (in constant time) so the time taken does not say
        which key came close.
        """
        presented = x_api_key or _bearer(authorization)
        if not presented:
            raise ProxyError(401, "authentication_error", "a tierwise client key is required")
        digest = _digest(presented)
        found: str | None = None
        for name, stored in self._digests:
            if hmac.compare_digest(digest, stored):
                found = name
        if found is None:
            raise ProxyError(401, "authentication_error", "invalid tierwise client key")
        return found


def _token_like(key: str) -> bool:
    """Printable ASCII without spaces: what fits in an HTTP header unchanged."""
    return key.isascii() and key.isprintable() and " " not in key


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("latin-1", "replace")).digest()


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
