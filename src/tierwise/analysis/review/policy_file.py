"""The proposal as a policy file a person reviews: ``extends`` the reviewed policy (the shipped
default, or the reviewed file itself, so its validators, shadow evaluation and budgets stay as
they are) and only the changed ``[routes.*]`` entries, each under a comment giving its evidence.

It loads with ``load_policy`` as it is, so ``tierwise replay --policy proposal.toml`` can show
what it would have changed on the same traffic before anyone adopts it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from tierwise.analysis.review.propose import Criteria, Proposal

__all__ = ["proposal_toml"]


def proposal_toml(
    proposals: Sequence[Proposal],
    *,
    policy_source: str,
    generated_at: datetime,
    since: datetime | None,
    records: int,
    criteria: Criteria,
    extends: str = "default",
) -> str:
    """The TOML text of ``proposals`` (a valid policy even when there are none)."""
    period = f"since {since.isoformat()}" if since is not None else "all records"
    lines = [
        "# tierwise review: proposed routing-table changes. Nothing has been applied.",
        f"# Generated {generated_at.isoformat(timespec='seconds')} from {records} routed "
        f"requests ({period}), against {policy_source}.",
        f"# Criteria: at least {criteria.min_samples} samples; quality target "
        f"{criteria.target:.0%}; escalation limit {criteria.escalation_limit:.0%}; Wilson "
        f"{criteria.confidence:.0%} intervals.",
        "# Try it on your own traffic first: tierwise replay --policy THIS_FILE",
        f"extends = {_string(extends)}",
    ]
    if not proposals:
        lines.append("# No change is proposed.")
    for proposal in proposals:
        route = proposal.route
        strength = "strong" if proposal.strong else "tentative"
        lines += [
            "",
            f"# {proposal.task_type}: {proposal.direction} {proposal.current.value} -> "
            f"{proposal.proposed.value} ({strength})",
            *(f"#   {line}" for line in proposal.evidence),
            f"[routes.{_key(proposal.task_type)}]",
            f"tier = {_string(route.tier.value)}",
        ]
        if route.max_tokens is not None:
            lines.append(f"max_tokens = {route.max_tokens}")
        if route.description:
            lines.append(f"description = {_string(route.description)}")
    return "\n".join(lines) + "\n"


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    """A bare key when TOML allows one, else a quoted key."""
    bare = name.replace("-", "").replace("_", "")
    return name if bare.isascii() and bare.isalnum() else _string(name)
