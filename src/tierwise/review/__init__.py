"""``tierwise review``: per task type, domain and tier — volume, cost, escalation rate and
quality retention with Wilson intervals — and proposed routing-table changes with their
evidence, written as a policy file a person reviews. Nothing is applied automatically.

    build_review(store, policy, since=..., criteria=Criteria(min_samples=30))  → Review
    proposal_toml(review.proposals, ...)                                       → policy text

Names are imported lazily, so the CLI loads SQLAlchemy only when a review runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Criteria": "tierwise.review.propose",
    "Proposal": "tierwise.review.propose",
    "Review": "tierwise.review.build",
    "build_review": "tierwise.review.build",
    "proposal_toml": "tierwise.review.policy_file",
    "wilson": "tierwise.review.stats",
}

__all__ = ["Criteria", "Proposal", "Review", "build_review", "proposal_toml", "wilson"]

if TYPE_CHECKING:
    from tierwise.review.build import Review, build_review
    from tierwise.review.policy_file import proposal_toml
    from tierwise.review.propose import Criteria, Proposal
    from tierwise.review.stats import wilson


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.review' has no attribute {name!r}")
    return getattr(import_module(module), name)
