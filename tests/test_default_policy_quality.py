"""The shipped policy on the project's own hand-labelled coding-assistant requests.

Each row carries the cheapest tier that does the task well and the tiers that would also do
it well. The bar: at least 85% of rows routed to an acceptable tier, and sending a task to a
tier cheaper than it needs (under-routing) rarer than sending it higher (over-routing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router

DATA = Path(__file__).parent / "data"
LABELLED_SETS = ["routing_dev.jsonl", "routing_holdout.jsonl", "routing_test.jsonl"]


def _rows(name: str) -> list[dict[str, Any]]:
    path = DATA / name
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", [n for n in LABELLED_SETS if (DATA / n).is_file()])
def test_default_policy_routes_labelled_requests_to_acceptable_tiers(name: str) -> None:
    router = Router()
    acceptable = under = over = 0
    rows = _rows(name)
    for row in rows:
        prompt, system = row["prompt"], row.get("system", "")
        label = Tier.parse(row["label"])
        allowed = {Tier.parse(t) for t in row.get("acceptable", [label.value])}
        chosen = router.decide(RouteRequest(text=prompt, system=system)).tier
        acceptable += chosen in allowed | {label}
        under += chosen < label
        over += chosen > label
    assert acceptable / len(rows) >= 0.85
    assert under < over
