"""``replay_store``: replay one period's records with a new policy, and what would change.

Cost: a request whose model does not change keeps its recorded cost (escalations, fallbacks
and routing calls included); a moved request is priced on its new model with its recorded usage,
so the *output length is assumed unchanged*, plus its recorded routing calls. Prices are the
catalog's standard ones. Totals compare the same requests: those priced both ways.

Expected quality and escalation come from the records themselves, per task type and tier:
the mean recorded quality score (1.0 = as good as the baseline model's answer) and the share
of validated requests that escalated, where the request's task type was served at that tier.
A request moved to a tier where its task type has no such records has *no evidence*: it is
counted as such, never guessed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tierwise.analysis.replay.engine import Replayed, Replayer, Skipped
from tierwise.analysis.report.money import usd
from tierwise.core.errors import StoreError
from tierwise.core.policy import Policy
from tierwise.core.tiers import Tier
from tierwise.ledger.records import DecisionRecord, policy_fingerprint

if TYPE_CHECKING:
    from tierwise.ledger.store import Store

__all__ = [
    "ASSUMPTIONS",
    "Evidence",
    "Mean",
    "ReplayReport",
    "TaskRow",
    "replay_store",
    "summarise",
]

ASSUMPTIONS = (
    "no API was called: decisions are re-made offline from the records",
    "a moved request is priced with its recorded usage on the new model: output length is "
    "assumed unchanged; catalog standard prices",
    "expected quality and escalation come from recorded scores and escalations of the same task "
    "type at the new tier; 'no evidence' where there are none",
    "the LLM classifier is not called: its recorded grade is reused where there is one",
)


@dataclass
class Mean:
    """A running mean and its sample size."""

    n: int = 0
    total: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value

    @property
    def value(self) -> float | None:
        return self.total / self.n if self.n else None

    def as_json(self) -> dict[str, Any]:
        value = self.value
        return {"value": None if value is None else round(value, 6), "n": self.n}


@dataclass
class Evidence:
    """Per (task type, tier): recorded quality scores and escalations of validated requests."""

    quality: dict[tuple[str | None, Tier], Mean] = field(default_factory=lambda: defaultdict(Mean))
    escalation: dict[tuple[str | None, Tier], Mean] = field(
        default_factory=lambda: defaultdict(Mean)
    )

    @classmethod
    def of(cls, records: Iterable[DecisionRecord]) -> Evidence:
        evidence = cls()
        for record in records:
            tier = _tier(record.chosen_tier)
            if tier is None or not record.routed:
                continue
            key = (record.task_type, tier)
            if record.quality_score is not None:
                evidence.quality[key].add(record.quality_score)
            if record.validator_verdicts:
                evidence.escalation[key].add(1.0 if escalated(record) else 0.0)
        return evidence

    def expected(
        self, table: dict[tuple[str | None, Tier], Mean], task_type: str | None, tier: Tier | None
    ) -> float | None:
        if tier is None:
            return None
        mean = table.get((task_type, tier))
        return mean.value if mean is not None else None


@dataclass
class TaskRow:
    """One task type's requests before and after."""

    task_type: str | None
    requests: int = 0
    changed: int = 0
    before: Counter[str] = field(default_factory=Counter)  # tier → requests
    after: Counter[str] = field(default_factory=Counter)
    cost_before: int = 0
    cost_after: int = 0
    quality_before: Mean = field(default_factory=Mean)
    quality_after: Mean = field(default_factory=Mean)
    no_evidence: int = 0  # moved to a tier with no quality evidence for this task type

    def as_json(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "requests": self.requests,
            "changed": self.changed,
            "tiers_before": dict(self.before),
            "tiers_after": dict(self.after),
            "cost_before_usd": usd(self.cost_before),
            "cost_after_usd": usd(self.cost_after),
            "quality_before": self.quality_before.as_json(),
            "quality_after": self.quality_after.as_json(),
            "moved_without_quality_evidence": self.no_evidence,
        }


@dataclass
class ReplayReport:
    """What replaying ``policy`` over the period's records found."""

    policy: str
    fingerprint: str
    since: datetime | None
    until: datetime
    records: int = 0
    replayed: int = 0
    by_basis: Counter[str] = field(default_factory=Counter)  # prompt | inputs
    skipped: Counter[str] = field(default_factory=Counter)  # why → records
    refused: Counter[str] = field(default_factory=Counter)  # error → records
    same: int = 0  # re-decided to the recorded model
    recorded_policies: Counter[str] = field(default_factory=Counter)  # fingerprint → records
    tiers_before: Counter[str] = field(default_factory=Counter)
    tiers_after: Counter[str] = field(default_factory=Counter)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)  # (from, to) tier
    priced: int = 0  # requests priced both ways (the cost totals cover these)
    unpriced: int = 0
    cost_before: int = 0  # micro-dollars
    cost_after: int = 0
    baseline: int = 0
    quality_before: Mean = field(default_factory=Mean)
    quality_after: Mean = field(default_factory=Mean)
    escalation_before: Mean = field(default_factory=Mean)
    escalation_after: Mean = field(default_factory=Mean)
    no_quality_evidence: int = 0  # moved requests without quality evidence at the new tier
    notes: Counter[str] = field(default_factory=Counter)
    tasks: dict[str | None, TaskRow] = field(default_factory=dict)
    mismatches: list[Replayed] = field(default_factory=list)  # with the same policy: bugs

    @property
    def cost_change(self) -> float | None:
        """The relative change in cost of the priced requests (−0.3: 30 % cheaper)."""
        return (self.cost_after - self.cost_before) / self.cost_before if self.cost_before else None

    def add(self, item: Replayed | Skipped) -> None:
        record = item.record
        self.records += 1
        if isinstance(item, Skipped):
            self.skipped[item.why] += 1
            return
        self.replayed += 1
        self.by_basis[item.basis] += 1
        self.recorded_policies[record.policy_fingerprint or "unknown"] += 1
        if item.refused is not None:
            self.refused[item.refused] += 1
            return
        for note in item.notes:
            self.notes[note] += 1
        row = self.tasks.setdefault(record.task_type, TaskRow(record.task_type))
        row.requests += 1
        before = record.chosen_tier or "other"
        after = item.tier.value if item.tier is not None else "other"
        self.tiers_before[before] += 1
        self.tiers_after[after] += 1
        row.before[before] += 1
        row.after[after] += 1
        if item.changed:
            row.changed += 1
            self.moves[(before, after)] += 1
        else:
            self.same += 1
        if record.cost_micro_usd is not None and item.cost_micro is not None:
            self.priced += 1
            self.cost_before += record.cost_micro_usd
            self.cost_after += item.cost_micro
            self.baseline += record.baseline_cost_micro_usd or 0
            row.cost_before += record.cost_micro_usd
            row.cost_after += item.cost_micro
        else:
            self.unpriced += 1

    def add_expectations(self, item: Replayed, evidence: Evidence) -> None:
        """Expected quality and escalation before and after, from the evidence."""
        if item.refused is not None:
            return
        task = item.record.task_type
        row = self.tasks[task]
        for table, before_mean, after_mean, row_before, row_after in (
            (evidence.quality, self.quality_before, self.quality_after, row.quality_before,
             row.quality_after),
            (evidence.escalation, self.escalation_before, self.escalation_after, None, None),
        ):  # fmt: skip
            before = evidence.expected(table, task, item.recorded_tier)
            after = evidence.expected(table, task, item.tier)
            if before is not None:
                before_mean.add(before)
                if row_before is not None:
                    row_before.add(before)
            if after is not None:
                after_mean.add(after)
                if row_after is not None:
                    row_after.add(after)
            elif table is evidence.quality and item.changed:
                self.no_quality_evidence += 1
                row.no_evidence += 1

    def as_json(self) -> dict[str, Any]:
        change = self.cost_change
        return {
            "policy": self.policy,
            "policy_fingerprint": self.fingerprint,
            "period": {
                "since": None if self.since is None else self.since.isoformat(),
                "until": self.until.isoformat(),
            },
            "records": self.records,
            "replayed": self.replayed,
            "basis": dict(self.by_basis),
            "skipped": dict(self.skipped),
            "refused": dict(self.refused),
            "same_model": self.same,
            "changed_model": sum(self.moves.values()),
            "recorded_policies": dict(self.recorded_policies),
            "tiers_before": dict(self.tiers_before),
            "tiers_after": dict(self.tiers_after),
            "moves": [{"from": a, "to": b, "requests": n} for (a, b), n in self.moves.items()],
            "cost": {
                "priced_requests": self.priced,
                "unpriced_requests": self.unpriced,
                "before_usd": usd(self.cost_before),
                "after_usd": usd(self.cost_after),
                "baseline_usd": usd(self.baseline),
                "change": None if change is None else round(change, 6),
            },
            "quality": {
                "before": self.quality_before.as_json(),
                "after": self.quality_after.as_json(),
                "moved_without_evidence": self.no_quality_evidence,
            },
            "escalation_rate": {
                "before": self.escalation_before.as_json(),
                "after": self.escalation_after.as_json(),
            },
            "task_types": [row.as_json() for row in self.task_rows()],
            "notes": dict(self.notes.most_common()),
            "assumptions": list(ASSUMPTIONS),
        }

    def task_rows(self) -> list[TaskRow]:
        return sorted(self.tasks.values(), key=lambda r: (-r.requests, r.task_type or ""))


def summarise(
    records: Sequence[DecisionRecord],
    policy: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    known: Iterable[Policy] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Replay ``records`` (oldest first) with ``policy`` and summarise what would change;
    ``progress(done, total)`` is called after each record."""
    replayer = Replayer(policy, known=known)
    report = ReplayReport(
        policy=policy.source,
        fingerprint=policy_fingerprint(policy),
        since=since,
        until=until or datetime.now(UTC),
    )
    evidence = Evidence.of(records)
    for done, item in enumerate(replayer.replay(records), start=1):
        report.add(item)
        if isinstance(item, Replayed):
            report.add_expectations(item, evidence)
        if progress is not None:
            progress(done, len(records))
    return report


def replay_store(
    store: Store,
    policy: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    known: Iterable[Policy] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Replay the store's records with ``since <= time < until``. A store with nothing
    recorded replays as empty; one recorded by an older tierwise must be migrated first."""
    until = until or datetime.now(UTC)
    status = store.status()
    if status.pending and status.applied:
        raise StoreError(
            f"{store.display} needs migrating before replay (pending: "
            f"{', '.join(status.pending)}): run tierwise db migrate"
        )
    records = store.records(since=since, until=until) if not status.pending else []
    return summarise(records, policy, since=since, until=until, known=known, progress=progress)


def escalated(record: DecisionRecord) -> bool:
    """The report's definition: an attempt of kind ``escalation``."""
    return any(attempt.get("kind") == "escalation" for attempt in record.attempts)


def _tier(name: str | None) -> Tier | None:
    try:
        return Tier(name) if name is not None else None
    except ValueError:
        return None
