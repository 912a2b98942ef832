"""Whether the proxy runs shadow evaluation, and with which key: decided once, at start-up.

Shadow evaluation spends money the caller did not ask to spend, so it needs a key of the
proxy's own (server-key mode, ``--api-key-env``). In caller-key mode the proxy holds no key
beyond the request it is relaying, and it does not keep callers' keys to spend later: shadow
evaluation stays off and ``serve`` says so. It also needs the store (``--record``), where its
spend is summed for the budget and the scores land.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.policy import Policy
from tierwise.ledger.store import Store
from tierwise.serving.shadow.worker import ShadowWorker

__all__ = ["ShadowSetup", "shadow_worker"]


@dataclass(frozen=True, slots=True)
class ShadowSetup:
    """The worker, or ``None`` with the reason it is off (``None`` too when not enabled)."""

    worker: ShadowWorker | None
    note: str | None


def shadow_worker(
    policy: Policy, store: Store | None, server_key: str | None, *, seed: int | None = None
) -> ShadowSetup:
    """The shadow worker the policy asks for, if this proxy can run it."""
    config = policy.config.shadow
    if not config.enabled:
        return ShadowSetup(None, None)
    if store is None:
        return ShadowSetup(None, "shadow evaluation is off: it needs recording (--record)")
    if server_key is None:
        return ShadowSetup(
            None,
            "shadow evaluation is off: in caller-key mode the proxy has no key of its own to "
            "pay for shadow and judge calls (use --api-key-env)",
        )
    judge = config.judge_model or policy.config.tiers.model_for(config.judge_tier)
    worker = ShadowWorker(config, store, api_key=server_key, judge_model=judge, seed=seed)
    return ShadowSetup(worker, f"shadow evaluation on: judge {judge}")
