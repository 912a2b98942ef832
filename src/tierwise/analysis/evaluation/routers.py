"""Turning routers into rung scores on a dataset: rule policies, the learned router, baselines.

Every router ends up as an (n, rungs) score matrix, where rung ``k`` scores how much a row needs
a tier above the dataset's ``k``-th, so one set of metrics serves all of them. A router that only
picks tiers (a rule policy) scores 1 on the rungs below its choice and 0 from it up: its one
operating point is at thresholds of 0.5, and its curve has steps only where it changes tier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tierwise.analysis.evaluation.dataset import Dataset
from tierwise.analysis.evaluation.metrics import Floats, Ints
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.model import LearnedRouter
from tierwise.learned.pipeline import Router


def nearest_tier(tier: Tier, tiers: Sequence[Tier]) -> int:
    """Index of ``tier`` in ``tiers``, else of the closest tier below it, else the cheapest.

    The same rule the router applies to a tier the policy has not enabled.
    """
    below = [i for i, t in enumerate(tiers) if t <= tier]
    return below[-1] if below else 0


def choices_scores(choice: Ints, rungs: int) -> Floats:
    """Scores that reproduce fixed choices at thresholds of 0.5."""
    return (choice[:, None] > np.arange(rungs)[None, :]).astype(float)


def tier_function_choices(dataset: Dataset, pick: Callable[[str], Tier]) -> Ints:
    """The tier index ``pick`` chooses for each row's prompt."""
    return np.array(
        [nearest_tier(pick(row.prompt), dataset.tiers) for row in dataset.rows], dtype=np.intp
    )


def policy_choices(dataset: Dataset, policy: Policy, progress: Callable[[], None]) -> Ints:
    """The tier the rule policy picks for each row (mapped to the dataset's ladder)."""
    router = Router(policy)
    out = np.empty(len(dataset), dtype=np.intp)
    for i, row in enumerate(dataset.rows):
        out[i] = nearest_tier(router.decide(RouteRequest(text=row.prompt)).tier, dataset.tiers)
        progress()
    return out


def learned_scores(dataset: Dataset, router: LearnedRouter, progress: Callable[[], None]) -> Floats:
    """The learned router's score on each of the dataset's rungs."""
    missing = [t.value for t in dataset.tiers[:-1] if t not in router.tiers[:-1]]
    if missing:
        raise InputError(
            f"{dataset.name}: the router has no rung for tier(s) {', '.join(missing)} "
            f"(it was trained on {', '.join(t.value for t in router.tiers)})"
        )
    columns = [router.tiers.index(t) for t in dataset.tiers[:-1]]
    out = np.empty((len(dataset), len(columns)))
    for i, row in enumerate(dataset.rows):
        scores = router.scores(row.prompt, row.category)
        out[i] = [scores[c] for c in columns]
        progress()
    return out


def oracle_choices(quality: Floats) -> Ints:
    """The cheapest tier that reaches the row's best score."""
    best = quality.max(axis=1, keepdims=True)
    choice: Ints = np.argmax(quality >= best - 1e-12, axis=1).astype(np.intp)
    return choice


def oracle_scores(quality: Floats) -> Floats:
    """Per rung: how much better the best tier above does than this one (ties: 0)."""
    rungs = quality.shape[1] - 1
    return np.stack([quality[:, k + 1 :].max(axis=1) - quality[:, k] for k in range(rungs)], axis=1)
