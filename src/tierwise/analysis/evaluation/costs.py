"""What each tier would cost on each row: at the dataset's own declared prices when its meta
file gives every model a price, else with the policy's tier models from the catalog.

Input tokens are the offline estimate of the prompt (the data does not give them); output tokens
are the row's answer length for that tier (256 when the row does not say). Plain input and
output rates only: evaluation rows have no caching or batching.
"""

from __future__ import annotations

import numpy as np

from tierwise.analysis.evaluation.dataset import Dataset
from tierwise.analysis.evaluation.metrics import Floats
from tierwise.core.errors import InputError
from tierwise.core.policy import Policy
from tierwise.core.tiers import Tier
from tierwise.core.tokens import estimate_text_tokens

PER_MILLION = 1e-6


def tier_models(
    policy: Policy, tiers: tuple[Tier, ...], dataset: Dataset | None = None
) -> dict[Tier, str]:
    """What prices each tier, as reports show it: the dataset's model and declared price, else
    the policy's ``[tiers]`` model (catalog price)."""
    if dataset is not None and dataset.prices:
        return {
            t: f"{m} at the dataset's ${i:g}/${o:g} per Mtok"
            for t, (m, i, o) in dataset.prices.items()
            if t in tiers
        }
    return {tier: policy.config.tiers.model_for(tier) for tier in tiers}


def cost_matrix(dataset: Dataset, policy: Policy) -> Floats:
    """An (n, tiers) matrix of USD per row per tier."""
    from tierwise.core.catalog import default_catalog

    if dataset.prices:
        tokens_in = np.array([estimate_text_tokens(row.prompt) for row in dataset.rows], float)
        return np.stack(
            [
                (tokens_in * i + dataset.output_tokens[:, k] * o) * PER_MILLION
                for k, (_, i, o) in enumerate(dataset.prices[t] for t in dataset.tiers)
            ],
            axis=1,
        )
    catalog = default_catalog()
    columns = []
    for tier, model_id in tier_models(policy, dataset.tiers).items():
        prices = catalog.get(model_id).prices
        if prices.input is None or prices.output is None:
            raise InputError(f"tiers.{tier.value}: {model_id} has no input/output price")
        tokens_in = np.array(
            [estimate_text_tokens(row.prompt, model_id) for row in dataset.rows], dtype=float
        )
        tokens_out = np.array([row.output_tokens[tier] for row in dataset.rows], dtype=float)
        columns.append(
            (tokens_in * float(prices.input) + tokens_out * float(prices.output)) * PER_MILLION
        )
    return np.stack(columns, axis=1)
