"""Labels from the decision store: what production traffic says about which tier sufficed.

A record is usable when it holds the prompt text (stored only under ``serve --store-prompts``)
and its attempts name models the catalog knows. From its ``attempts`` (in order):

* an attempt followed by one of ``"kind": "escalation"`` answered but failed validation: its
  tier was **not** enough (outcome 0 for that tier and every tier below it);
* the last successful attempt, when nothing escalated after it and its ``quality_score`` (if
  scored) is at least ``pass_score``: its tier **was** enough (outcome 1 for that tier and every
  tier above it);
* a served answer scored below ``pass_score``: its tier was not enough (outcome 0 for it and
  the tiers below).

Each tier's head is trained only on the records that say something about that tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from tierwise.analysis.training.train import Example
from tierwise.core.catalog import Catalog, default_catalog
from tierwise.core.errors import InputError, UnknownModelError
from tierwise.core.tiers import Tier
from tierwise.ledger.records import DecisionRecord

DEFAULT_PASS_SCORE = 0.5


@dataclass(frozen=True)
class LogExamples:
    """Examples from the store, and how many records could not be used and why."""

    examples: list[Example]
    without_prompt: int
    without_label: int


def examples_from_records(
    records: Iterable[DecisionRecord],
    ladder: tuple[Tier, ...],
    *,
    pass_score: float = DEFAULT_PASS_SCORE,
    catalog: Catalog | None = None,
) -> LogExamples:
    """Training examples for the tiers of ``ladder`` from decision records."""
    catalog = catalog or default_catalog()
    examples: list[Example] = []
    without_prompt = without_label = 0
    for record in records:
        if not record.prompt:
            without_prompt += 1
            continue
        outcomes = _outcomes(record, ladder, pass_score, catalog)
        if not outcomes:
            without_label += 1
            continue
        examples.append(Example(record.prompt, record.task_type or record.domain, outcomes))
    return LogExamples(examples, without_prompt, without_label)


def _tier(model: object, catalog: Catalog) -> Tier | None:
    if not isinstance(model, str):
        return None
    try:
        return catalog.get(model).line
    except UnknownModelError:
        return None


def _outcomes(
    record: DecisionRecord, ladder: tuple[Tier, ...], pass_score: float, catalog: Catalog
) -> dict[Tier, float]:
    outcomes: dict[Tier, float] = {}
    attempts = list(record.attempts)
    for attempt, following in pairwise(attempts):
        if following.get("kind") == "escalation":
            failed = _tier(attempt.get("model"), catalog)
            if failed is not None:
                outcomes.update({t: 0.0 for t in ladder if t <= failed})
    served = next(
        (
            a
            for a in reversed(attempts)
            if isinstance(a.get("status"), int) and 200 <= a["status"] < 300
        ),
        None,
    )
    tier = _tier(served.get("model"), catalog) if served is not None else None
    if tier is None:
        return outcomes
    if record.quality_score is not None and record.quality_score < pass_score:
        outcomes.update({t: 0.0 for t in ladder if t <= tier})
    elif served is attempts[-1]:
        outcomes.update({t: 1.0 for t in ladder if t >= tier and t not in outcomes})
    return outcomes


def load_log_examples(
    db: str | None, ladder: tuple[Tier, ...], *, pass_score: float = DEFAULT_PASS_SCORE
) -> LogExamples:
    """Examples from the store at ``db``; ``InputError`` when no record can teach anything."""
    from tierwise.ledger.store import Store

    store = Store(db)
    try:
        records = store.records()
    finally:
        store.close()
    found = examples_from_records(records, ladder, pass_score=pass_score)
    if not found.examples:
        if records and found.without_prompt == len(records):
            raise InputError(
                f"none of the {len(records)} records holds its prompt text: prompts are stored "
                "only when the proxy runs with `tierwise serve --store-prompts`"
            )
        raise InputError(
            f"no usable record among {len(records)}: a record needs its prompt text and an "
            "escalation or a quality score"
        )
    return found
