"""The offline estimate's error, measured on recorded pairs of (estimate, API count).

Every record whose prompt was counted (``counted_context_tokens``) holds a pair: the raw
estimate (``context_tokens``) and the count. The *relative error* of one pair is
``(estimate - count) / count``: +0.10 means the estimate said 10 % too many tokens. Grouped by
the model routing chose and the kind of prompt (prose, code, non-ASCII text: the rule of thumb
errs differently on each), the mean relative error says how far off the estimate runs, and

    suggested factor = 1 / (1 + mean relative error)

is the ``context.estimate_factor`` that would make that mean zero: the mean of
``(factor * estimate - count) / count`` over the pairs is ``factor * (1 + mean) - 1``.

The pairs come only from prompts near a threshold (the only ones counted), which is exactly
where the factor matters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tierwise.ledger.records import DecisionRecord

ALL = "*"  # the row over every model or kind


@dataclass(frozen=True, slots=True)
class EstimateError:
    """The estimate's error over the pairs of one model and prompt kind."""

    model: str
    kind: str
    pairs: int
    mean_relative_error: float  # mean of (estimate - count) / count
    mean_absolute_error: float  # mean of |estimate - count| / count
    suggested_factor: float  # 1 / (1 + mean_relative_error)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form, rounded for reading."""
        return {
            "model": self.model,
            "kind": self.kind,
            "pairs": self.pairs,
            "mean_relative_error": round(self.mean_relative_error, 4),
            "mean_absolute_error": round(self.mean_absolute_error, 4),
            "suggested_factor": round(self.suggested_factor, 4),
        }


def prompt_kind(inputs: Mapping[str, Any] | None) -> str:
    """``non-ascii``, ``code`` or ``prose`` from a record's routing inputs (``unknown``
    without them). Non-ASCII wins: it moves the estimate more than code does."""
    if not inputs or not inputs.get("text"):
        return "unknown"
    if inputs.get("non_ascii"):
        return "non-ascii"
    if inputs.get("code_blocks"):
        return "code"
    return "prose"


def estimate_errors(records: Iterable[DecisionRecord]) -> list[EstimateError]:
    """Per (model, kind), per model over every kind, and overall (``*``): the estimate's error
    on the records holding both an estimate and a count. Empty when none do."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in records:
        estimate, count = record.context_tokens, record.counted_context_tokens
        if estimate is None or count is None or count <= 0:
            continue
        error = (estimate - count) / count
        model = record.chosen_model or "unknown"
        kind = prompt_kind(record.routing_inputs)
        for key in ((model, kind), (model, ALL), (ALL, ALL)):
            groups[key].append(error)
    rows = [_row(model, kind, errors) for (model, kind), errors in groups.items()]
    # models in order, each model's kinds with its own total last, the overall total at the end
    return sorted(rows, key=lambda r: (r.model == ALL, r.model, r.kind == ALL, r.kind))


def _row(model: str, kind: str, errors: list[float]) -> EstimateError:
    mean = sum(errors) / len(errors)
    absolute = sum(abs(e) for e in errors) / len(errors)
    return EstimateError(model, kind, len(errors), mean, absolute, 1 / (1 + mean))
