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
    "Criteria": "tierwise.analysis.review.propose",
    "Proposal": "tierwise.analysis.review.propose",
    "Review": "tierwise.analysis.review.build",
    "build_review": "tierwise.analysis.review.build",
    "proposal_toml": "tierwise.analysis.review.policy_file",
    "wilson": "tierwise.analysis.report.stats",
}

__all__ = ["Criteria", "Proposal", "Review", "build_review", "proposal_toml", "wilson"]

if TYPE_CHECKING:
    from tierwise.analysis.report.stats import wilson
    from tierwise.analysis.review.build import Review, build_review
    from tierwise.analysis.review.policy_file import proposal_toml
    from tierwise.analysis.review.propose import Criteria, Proposal


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tierwise.analysis.review' has no attribute {name!r}")
    return getattr(import_module(module), name)
