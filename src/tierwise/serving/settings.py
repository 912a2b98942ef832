"""The proxy's settings, read once at start-up: where to listen, what to trust, how much to take.

Configuration mistakes (a server key variable that is empty, client keys without a server key,
server-key mode without client keys) fail here with one clear ``ConfigError``, before a socket
is opened, rather than as a surprise on the first request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tierwise.core.errors import ConfigError
from tierwise.serving.auth import ClientKeys
from tierwise.serving.defaults import DEFAULT_HOST, DEFAULT_MAX_BODY_MB, DEFAULT_PORT
from tierwise.serving.upstream import UpstreamConfig

MB = 1024 * 1024


@dataclass(frozen=True)
class ProxySettings:
    """Everything ``create_app`` and ``serve`` need besides the policy.

    ``server_key`` is the proxy's own Anthropic key (server-key mode) and is never printed;
    then ``client_keys`` must be set and every caller must present one of them.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    policy_path: Path | None = None
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    max_body_bytes: int = DEFAULT_MAX_BODY_MB * MB
    server_key: str | None = field(default=None, repr=False)
    client_keys: ClientKeys | None = None
    shutdown_grace: float = 10.0  # seconds in-flight requests may take to finish at shutdown

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0:
            raise ConfigError("the body size limit must be positive")
        for name, value in (
            ("--connect-timeout", self.upstream.connect_timeout),
            ("--read-timeout", self.upstream.read_timeout),
            ("--shutdown-grace", self.shutdown_grace),
        ):
            if not value > 0:
                raise ConfigError(f"{name} must be a positive number of seconds, not {value}")
        if self.server_key is not None and self.client_keys is None:
            raise ConfigError(
                "server-key mode needs client keys: pass --client-keys-file or set "
                "TIERWISE_CLIENT_KEYS, so that not everyone who can reach the proxy spends the key"
            )
        if self.server_key is None and self.client_keys is not None:
            raise ConfigError("client keys need a server key (--api-key-env NAME)")

    @classmethod
    def from_options(
        cls,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        policy: Path | None = None,
        upstream_url: str | None = None,
        api_key_env: str | None = None,
        client_keys_file: Path | None = None,
        max_body_mb: float = DEFAULT_MAX_BODY_MB,
        environ: Mapping[str, str],
    ) -> ProxySettings:
        """Settings from the ``tierwise serve`` options and the environment."""
        server_key: str | None = None
        if api_key_env is not None:
            server_key = environ.get(api_key_env, "").strip()
            if not server_key:
                raise ConfigError(f"--api-key-env: the variable {api_key_env} is not set or empty")
            if not (server_key.isascii() and server_key.isprintable()):
                raise ConfigError(f"--api-key-env: the key in {api_key_env} is not printable ASCII")
        if not 0 < port < 65536:
            raise ConfigError(f"--port must be between 1 and 65535, not {port}")
        upstream = UpstreamConfig(base_url=upstream_url) if upstream_url else UpstreamConfig()
        if not upstream.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"--upstream must be an http(s) URL, not {upstream.base_url!r}")
        return cls(
            host=host,
            port=port,
            policy_path=policy,
            upstream=upstream,
            max_body_bytes=int(max_body_mb * MB),
            server_key=server_key,
            client_keys=(
                ClientKeys.load(client_keys_file, environ)
                if server_key or client_keys_file
                else None
            ),
        )
