"""The proxy's request pipeline: one named step per module, run in order by ``MessagesEndpoint``.

Each step is an object with one async method, ``__call__(request) -> bool``: it reads and fills
the ``ProxyRequest`` and returns ``True`` when it has answered the caller (the pipeline stops
there), ``False`` to hand on. The endpoint builds its list once, from the policy and the
proxy's settings, so a disabled feature is simply absent::

    authenticate → read_body → check_budget → route → [count_near_threshold] → [classify]
    → [sample_for_shadow] → [reserve_budget] → forward

``/v1/messages/count_tokens`` runs the same list without the budget refusal, the classifier
and the shadow sample. Adding behaviour means adding a step and an entry in
``serving.messages.build_steps``.
"""

from __future__ import annotations

from typing import Protocol

from tierwise.serving.pipeline.context import ProxyRequest

__all__ = ["ProxyRequest", "Step"]


class Step(Protocol):
    """One stage of the request pipeline."""

    async def __call__(self, request: ProxyRequest) -> bool:
        """Work on ``request``; ``True`` when the caller has been answered."""
        ...
