"""How well a policy routes a labelled set: accuracy, under- and over-routing, errors by kind.

Rows are ``{"id", "prompt", "system"?, "label", "acceptable"?, "kind"?, "split"?}``; a decision is
acceptable when its tier is in ``acceptable`` (default: just the label); ``exact`` counts the
label itself. Under-routing = a tier cheaper than the label; over-routing = an unacceptable tier
above it; above_label = any tier above the label. The product description's example keyword
router is scored beside the policy on the same rows. ``--split tune|frozen`` keeps only the rows
of that split (the corpus's frozen half is scored once, not tuned on); traps are rows whose kind
starts with ``trap-``.

    python benchmarks/policy_accuracy.py tests/data/routing_dev.jsonl [--policy FILE] [--show]
    python benchmarks/policy_accuracy.py tests/data/corpus/coding_requests.jsonl --split tune
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierwise.core.policy import load_policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router
from tierwise.messages.hints import Hints
from tierwise.messages.parse import route_request_from_body


@dataclass(frozen=True)
class Scored:
    """One row's outcome."""

    row_id: str
    kind: str
    label: Tier
    chosen: Tier
    acceptable: bool
    reason: str
    prompt: str

    @property
    def under(self) -> bool:
        return self.chosen < self.label

    @property
    def over(self) -> bool:
        return not self.acceptable and self.chosen > self.label


def rows_of(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The rows of ``path``, only those of ``split`` when one is given."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if split is None or r.get("split") == split]


def request_of(row: dict[str, Any]) -> RouteRequest:
    """The row as the proxy sees it: one user message (and its system prompt) in a Messages
    body, parsed as a live request is, so agent-client envelopes are read by their profiles."""
    body: dict[str, Any] = {
        "model": "auto",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": row["prompt"]}],
    }
    if row.get("system"):
        body["system"] = row["system"]
    return route_request_from_body(body, Hints())


def score_file(path: Path, router: Router, split: str | None = None) -> list[Scored]:
    """Route every row of ``path`` (of ``split``) and compare with its label."""
    scored: list[Scored] = []
    for row in rows_of(path, split):
        label = Tier.parse(row["label"])
        acceptable = {Tier.parse(t) for t in row.get("acceptable", [row["label"]])} | {label}
        decision = router.decide(request_of(row))
        scored.append(
            Scored(
                row["id"],
                row.get("kind", ""),
                label,
                decision.tier,
                decision.tier in acceptable,
                decision.reason,
                row["prompt"],
            )
        )
    return scored


# The product description's keyword router, verbatim: substring matching, Opus signals first.
SEED_OPUS_SIGNALS = (
    "race condition",
    "deadlock",
    "architecture",
    "security",
    "vulnerability",
    "cross-file",
    "system design",
    "complex bug",
)
SEED_HAIKU_SIGNALS = (
    "format",
    "rename",
    "convert",
    "extract",
    "boilerplate",
    "template",
    "sort imports",
    "add types",
    "fix lint",
)


def seed_keyword_tier(prompt: str) -> Tier:
    """What the product description's example keyword router picks."""
    lower = prompt.lower()
    if any(signal in lower for signal in SEED_OPUS_SIGNALS):
        return Tier.OPUS
    if any(signal in lower for signal in SEED_HAIKU_SIGNALS):
        return Tier.HAIKU
    return Tier.SONNET


def score_seed_router(path: Path, split: str | None = None) -> list[Scored]:
    """The same comparison for the product description's keyword router."""
    scored: list[Scored] = []
    for row in rows_of(path, split):
        label = Tier.parse(row["label"])
        acceptable = {Tier.parse(t) for t in row.get("acceptable", [row["label"]])} | {label}
        chosen = seed_keyword_tier(row["prompt"])
        kind = row.get("kind", "")
        scored.append(
            Scored(row["id"], kind, label, chosen, chosen in acceptable, "seed", row["prompt"])
        )
    return scored


def summary(scored: list[Scored]) -> dict[str, float]:
    """Accuracy and the under/over-routing rates."""
    n = len(scored) or 1
    traps = [s for s in scored if s.kind.startswith("trap-")]
    return {
        "rows": len(scored),
        "accuracy": sum(s.acceptable for s in scored) / n,
        "exact": sum(s.chosen == s.label for s in scored) / n,
        "under_routed": sum(s.under for s in scored) / n,
        "over_routed": sum(s.over for s in scored) / n,
        "above_label": sum(s.chosen > s.label for s in scored) / n,
        "traps": sum(s.acceptable for s in traps) / (len(traps) or 1),
    }


def by_kind(scored: list[Scored]) -> dict[str, str]:
    """Acceptable / rows for each kind, worst first."""
    rows: Counter[str] = Counter(s.kind for s in scored)
    good: Counter[str] = Counter(s.kind for s in scored if s.acceptable)
    order = sorted(rows, key=lambda k: (good[k] / rows[k], k))
    return {k: f"{good[k]}/{rows[k]}" for k in order}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--policy", type=Path)
    parser.add_argument("--show", action="store_true", help="print every misrouted row")
    parser.add_argument("--split", choices=["tune", "frozen"], help="only rows of this split")
    parser.add_argument("--kinds", action="store_true", help="print accuracy by kind")
    args = parser.parse_args()
    router = Router(load_policy(args.policy))
    for path in args.files:
        scored = score_file(path, router, args.split)
        print(f"{path.name}: {json.dumps({k: round(v, 3) for k, v in summary(scored).items()})}")
        if args.kinds:
            print("  by kind:", json.dumps(by_kind(scored)))
        seed = {k: round(v, 3) for k, v in summary(score_seed_router(path, args.split)).items()}
        print(f"  product description's keyword router: {json.dumps(seed)}")
        misses = [s for s in scored if not s.acceptable]
        miss_kinds = Counter(s.kind for s in misses)
        print("  misses by kind:", dict(miss_kinds.most_common()))
        if args.show:
            for s in misses:
                text = s.prompt[:110].replace("\n", " ")
                print(f"  {s.row_id} [{s.kind}] label {s.label.value} got {s.chosen.value}: {text}")
                print(f"      {s.reason[:220]}")


if __name__ == "__main__":
    main()
