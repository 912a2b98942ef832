"""How well a policy routes a labelled set: accuracy, under- and over-routing, errors by kind.

Rows are ``{"id", "prompt", "system"?, "label", "acceptable"?, "kind"?}``; a decision is
acceptable when its tier is in ``acceptable`` (default: just the label); ``exact`` counts the
label itself. Under-routing = a tier cheaper than the label; over-routing = an unacceptable tier
above it; above_label = any tier above the label. The product description's example keyword
router is scored beside the policy on the same rows.

    python benchmarks/policy_accuracy.py tests/data/routing_dev.jsonl [--policy FILE] [--show]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tierwise.core.policy import load_policy
from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router


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


def score_file(path: Path, router: Router) -> list[Scored]:
    """Route every row of ``path`` and compare with its label."""
    scored: list[Scored] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        label = Tier.parse(row["label"])
        acceptable = {Tier.parse(t) for t in row.get("acceptable", [row["label"]])} | {label}
        decision = router.decide(RouteRequest(text=row["prompt"], system=row.get("system", "")))
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


def score_seed_router(path: Path) -> list[Scored]:
    """The same comparison for the product description's keyword router."""
    scored: list[Scored] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
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
    n = len(scored)
    return {
        "rows": n,
        "accuracy": sum(s.acceptable for s in scored) / n,
        "exact": sum(s.chosen == s.label for s in scored) / n,
        "under_routed": sum(s.under for s in scored) / n,
        "over_routed": sum(s.over for s in scored) / n,
        "above_label": sum(s.chosen > s.label for s in scored) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--policy", type=Path)
    parser.add_argument("--show", action="store_true", help="print every misrouted row")
    args = parser.parse_args()
    router = Router(load_policy(args.policy))
    for path in args.files:
        scored = score_file(path, router)
        print(f"{path.name}: {json.dumps({k: round(v, 3) for k, v in summary(scored).items()})}")
        seed = {k: round(v, 3) for k, v in summary(score_seed_router(path)).items()}
        print(f"  product description's keyword router: {json.dumps(seed)}")
        misses = [s for s in scored if not s.acceptable]
        by_kind = Counter(s.kind for s in misses)
        print("  misses by kind:", dict(by_kind.most_common()))
        if args.show:
            for s in misses:
                text = s.prompt[:110].replace("\n", " ")
                print(f"  {s.row_id} [{s.kind}] label {s.label.value} got {s.chosen.value}: {text}")
                print(f"      {s.reason[:220]}")


if __name__ == "__main__":
    main()
