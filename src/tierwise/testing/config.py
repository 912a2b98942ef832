"""The fake server's settings and the state a test inspects: its script and its request log."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from tierwise.testing.recording import RequestLog
from tierwise.testing.script import Script

DEFAULT_MODELS: tuple[str, ...] = (
    "claude-haiku-5-5",
    "claude-sonnet-5-5",
    "claude-opus-5-5",
    "claude-fable-5-2",
)
"""Served by ``GET /v1/models`` in this order. ``/v1/messages`` accepts any ``claude-*`` id,
listed or not, so tests need not keep this list in step with the catalog."""


@dataclass(slots=True)
class FakeConfig:
    """Settings for one fake server, plus its live ``script`` and ``log``.

    ``api_keys``: when set, a request must carry one of them as ``x-api-key`` or
    ``Authorization: Bearer`` (else 401); when ``None`` any credential, or none, is accepted.
    ``require_version``: reject a request without ``anthropic-version`` (400), as the API does.
    ``chunk_delay``: seconds to wait after each stream event unless a ``Reply`` says otherwise.
    """

    script: Script = field(default_factory=Script)
    log: RequestLog = field(default_factory=RequestLog)
    models: Sequence[str] = DEFAULT_MODELS
    api_keys: Collection[str] | None = None
    require_version: bool = True
    chunk_delay: float = 0.0
    requests_limit: int = 4000
    tokens_limit: int = 2_000_000
