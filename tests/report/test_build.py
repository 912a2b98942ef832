"""``build_report`` on SQLite over the hand-built records: every figure worked out by hand."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tierwise.analysis.report import BREAKDOWNS, AlertThresholds, build_report
from tierwise.core.errors import InputError
from tierwise.ledger.records import DecisionRecord
from tierwise.ledger.store import Store

from .conftest import HAIKU, OPUS, SONNET, T0, UNTIL, record

TOTAL_KEYS = {
    "requests", "routed", "errors", "cost_usd", "baseline_cost_usd", "savings_usd",
    "savings_pct", "cost_per_task_usd", "baseline_cost_per_task_usd", "quality_scored",
    "quality_mean", "quality_retention", "escalations", "escalation_rate", "fallbacks",
    "fallback_rate", "overhead_ms", "upstream_ms", "projected_monthly_usd",
    "projected_monthly_baseline_usd", "cache_read_share", "session_switches",
    "switch_cache_cost_usd", "cache_stays",
}  # fmt: skip
GROUP_KEYS = {
    "key", "requests", "cost_usd", "baseline_cost_usd", "savings_usd", "savings_pct",
    "cost_per_task_usd", "baseline_cost_per_task_usd", "escalation_rate", "quality_mean",
}  # fmt: skip


def period_report(store: Store, **options: Any) -> dict[str, Any]:
    return build_report(store, since=T0, until=UNTIL, **options).as_json()


def test_totals_of_the_period(hand_store: Store) -> None:
    data = period_report(hand_store)
    totals = data["totals"]
    assert set(totals) == TOTAL_KEYS
    assert data["period"] == {"since": T0.isoformat(), "until": UNTIL.isoformat(), "days": 2.0}
    # r1..r5: r0 is before the period, r6 exactly at its end
    assert (totals["requests"], totals["routed"], totals["errors"]) == (5, 4, 1)
    # costs 1000 + 4000 + 2000 + 5000 micro-dollars (r5 failed: not priced)
    assert totals["cost_usd"] == "0.012000"
    assert totals["baseline_cost_usd"] == "0.045000"
    assert totals["savings_usd"] == "0.033000"
    assert totals["savings_pct"] == pytest.approx(33 / 45, abs=1e-6)
    assert totals["cost_per_task_usd"] == "0.003000"  # 12000 / 4 priced requests
    assert totals["baseline_cost_per_task_usd"] == "0.011250"  # 45000 / 4
    assert (totals["quality_scored"], totals["quality_mean"]) == (2, pytest.approx(0.9))
    assert totals["quality_retention"] == pytest.approx(0.9)
    assert (totals["escalations"], totals["escalation_rate"]) == (1, 0.25)  # 1 of 4 routed
    assert (totals["fallbacks"], totals["fallback_rate"]) == (1, 0.2)  # 1 of 5 requests


def test_latency_percentiles_interpolate_linearly(hand_store: Store) -> None:
    totals = period_report(hand_store)["totals"]
    # decision latencies 1, 2, 3, 4 ms: p50 at position 1.5, p95 at 2.85, p99 at 2.97
    assert totals["overhead_ms"] == {
        "p50": pytest.approx(2.5),
        "p95": pytest.approx(3.85),
        "p99": pytest.approx(3.97),
    }
    # upstream 100, 200, 300, 400 ms (r5 never got an answer)
    assert totals["upstream_ms"] == {
        "p50": pytest.approx(250.0),
        "p95": pytest.approx(385.0),
        "p99": pytest.approx(397.0),
    }


def test_projection_runs_from_the_first_record_in_the_period(hand_store: Store) -> None:
    totals = period_report(hand_store)["totals"]
    # first record at T0+9h, until T0+48h: 39 h = 1.625 days; 0.012 * 30 / 1.625 = 0.2215...
    assert totals["projected_monthly_usd"] == "0.22"
    assert totals["projected_monthly_baseline_usd"] == "0.83"  # 0.045 * 30 / 1.625 = 0.8307...


def test_projection_covers_at_least_one_hour(sqlite_store: Store) -> None:
    now = T0 + timedelta(minutes=10)
    sqlite_store.insert_many([record("only", T0, cost_micro_usd=1_000)])
    totals = build_report(sqlite_store, until=now).as_json()["totals"]
    assert totals["projected_monthly_usd"] == "0.72"  # $0.001 an hour, 24 * 30 hours


def test_without_since_every_record_before_until_counts(hand_store: Store) -> None:
    data = build_report(hand_store, until=UNTIL).as_json()
    assert data["period"]["since"] is None
    assert data["period"]["days"] == pytest.approx(49 / 24, abs=1e-6)  # from r0, one hour before T0
    assert data["totals"]["requests"] == 6
    assert data["totals"]["cost_usd"] == "0.912000"


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("model", [(HAIKU, 2, "0.003000"), (OPUS, 1, "0.005000"), (SONNET, 1, "0.004000"),
                   (None, 1, None)]),
        ("tier", [("haiku", 3, "0.003000"), ("sonnet", 1, "0.004000"), (None, 1, "0.005000")]),
        ("task-type", [("formatting", 3, "0.003000"), ("code", 1, "0.004000"),
                       (None, 1, "0.005000")]),
        ("domain", [("frontend", 2, "0.003000"), (None, 2, "0.005000"),
                    ("backend", 1, "0.004000")]),
        ("user-tier", [("free", 2, "0.003000"), (None, 2, "0.005000"), ("paid", 1, "0.004000")]),
        ("day", [("2026-11-01", 2, "0.005000"), ("2026-11-02", 3, "0.007000")]),
        ("caller", [("app", 2, "0.005000"), ("batch", 2, "0.007000"), (None, 1, None)]),
    ],
)  # fmt: skip
def test_group_by(hand_store: Store, by: str, expected: list[tuple[str | None, int, str]]) -> None:
    data = period_report(hand_store, by=by)
    assert data["by"] == by
    assert all(set(group) == GROUP_KEYS for group in data["groups"])
    assert [(g["key"], g["requests"], g["cost_usd"]) for g in data["groups"]] == expected


def test_group_measures(hand_store: Store) -> None:
    groups = {g["key"]: g for g in period_report(hand_store, by="tier")["groups"]}
    haiku, sonnet, unrouted = groups["haiku"], groups["sonnet"], groups[None]
    assert haiku["baseline_cost_usd"] == "0.030000"
    assert haiku["savings_usd"] == "0.027000"
    assert haiku["savings_pct"] == pytest.approx(0.9)
    assert haiku["cost_per_task_usd"] == "0.001500"  # r5 failed: two priced requests
    assert haiku["escalation_rate"] == 0.0
    assert haiku["quality_mean"] == 1.0
    assert (sonnet["escalation_rate"], sonnet["quality_mean"]) == (1.0, pytest.approx(0.8))
    assert unrouted["escalation_rate"] is None  # nothing routed
    assert unrouted["savings_pct"] == 0.0


def test_no_breakdown_gives_no_groups(hand_store: Store) -> None:
    data = period_report(hand_store)
    assert (data["by"], data["groups"]) == (None, [])


def test_daily_tier_mix_task_types_and_recent(hand_store: Store) -> None:
    data = period_report(hand_store, recent=2)
    assert data["daily"] == [
        {"day": "2026-11-01", "requests": 2, "cost_usd": "0.005000",
         "baseline_cost_usd": "0.020000", "savings_usd": "0.015000"},
        {"day": "2026-11-02", "requests": 3, "cost_usd": "0.007000",
         "baseline_cost_usd": "0.025000", "savings_usd": "0.018000"},
    ]  # fmt: skip
    assert data["tier_mix"] == [
        {"tier": "haiku", "requests": 3, "share": 0.75, "cache_read_share": None},
        {"tier": "sonnet", "requests": 1, "share": 0.25, "cache_read_share": None},
    ]
    formatting = data["task_types"][0]
    old_keys = ("task_type", "requests", "cost_usd", "savings_usd")
    assert {key: formatting[key] for key in old_keys} == {
        "task_type": "formatting", "requests": 3, "cost_usd": "0.003000",
        "savings_usd": "0.027000",
    }  # fmt: skip
    # shadow-evaluation keys, added beside the old ones: one of the three is scored (r1: 1.0)
    assert (formatting["quality_scored"], formatting["quality_retention"]) == (1, 1.0)
    interval = formatting["quality_interval"]
    assert (interval["n"], interval["high"]) == (1, 1.0)
    assert 0 < interval["low"] < 1
    assert [row["request_id"] for row in data["recent"]] == ["r5", "r4"]  # newest first
    assert data["recent"][0]["cost_usd"] is None
    first = period_report(hand_store)["recent"][-1]
    assert first == {
        "time": (T0 + timedelta(hours=9)).isoformat(), "request_id": "r1",
        "requested_model": "auto", "chosen_model": HAIKU, "chosen_tier": "haiku",
        "served_model": HAIKU, "task_type": "formatting", "reason": "short formatting task",
        "status": 200, "cost_usd": "0.001000", "baseline_cost_usd": "0.010000",
        "total_ms": 101.5,
    }  # fmt: skip


def test_escalation_is_read_from_the_attempts_kind(sqlite_store: Store) -> None:
    kinds: list[tuple[dict[str, Any], ...]] = [
        (),
        ({"model": HAIKU},),  # written before attempts had a kind
        ({"kind": "first"}, {"kind": "fallback"}),
        ({"kind": "first", "error_type": "escalation"},),  # the word, but not the kind
        ({"kind": "first"}, {"kind": "escalation"}, {"kind": "escalation"}),
    ]
    records = [record(f"k{i}", T0, routed=True, attempts=a) for i, a in enumerate(kinds)]
    records.append(record("unrouted", T0, routed=False, attempts=({"kind": "escalation"},)))
    sqlite_store.insert_many(records)
    totals = build_report(sqlite_store, until=UNTIL).as_json()["totals"]
    assert (totals["escalations"], totals["escalation_rate"]) == (1, 0.2)


def alerts(store: Store, **thresholds: float) -> dict[str, dict[str, Any]]:
    report = build_report(
        store, since=T0, until=UNTIL, thresholds=AlertThresholds(**thresholds)
    ).as_json()
    return {alert["name"]: alert for alert in report["alerts"]}


def test_alerts_with_the_default_thresholds(hand_store: Store) -> None:
    fired = alerts(hand_store)
    quality, escalation, overhead = (
        fired["quality_drop"], fired["escalation_rate"], fired["routing_overhead"]
    )  # fmt: skip
    assert quality["firing"] is True  # retention 0.9 < 0.95
    assert (quality["value"], quality["threshold"]) == (pytest.approx(0.1), 0.05)
    assert escalation["firing"] is True  # 25 % > 20 %
    assert (escalation["value"], escalation["threshold"]) == (0.25, 0.2)
    assert escalation["message"] == "escalation rate 25.0% (alert above 20%)"
    assert overhead["firing"] is False  # p95 3.85 ms
    assert (overhead["value"], overhead["threshold"]) == (pytest.approx(3.85), 500)


def test_alerts_follow_configured_thresholds(hand_store: Store) -> None:
    fired = alerts(hand_store, quality_drop=0.2, escalation_rate=0.3, routing_overhead_ms=3.0)
    assert [fired[name]["firing"] for name in fired] == [False, False, True]
    assert fired["routing_overhead"]["threshold"] == 3.0
    at_limit = alerts(hand_store, escalation_rate=0.25, routing_overhead_ms=3.85)
    assert at_limit["escalation_rate"]["firing"] is False  # fires only above the threshold


def test_alerts_without_data_do_not_fire(sqlite_store: Store) -> None:
    sqlite_store.insert_many([record("plain", T0, routed=False)])
    fired = alerts(sqlite_store)
    assert all(not alert["firing"] and alert["value"] is None for alert in fired.values())
    assert fired["quality_drop"]["message"] == "quality: no scored requests yet"


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(InputError, match="quality_drop"):
        AlertThresholds(quality_drop=1.5)
    with pytest.raises(InputError, match="routing_overhead_ms"):
        AlertThresholds(routing_overhead_ms=-1)


def assert_empty(data: dict[str, Any]) -> None:
    totals = data["totals"]
    assert totals["requests"] == 0
    assert totals["cost_usd"] is None
    assert totals["savings_pct"] is None
    assert totals["overhead_ms"] == {"p50": None, "p95": None, "p99": None}
    assert totals["projected_monthly_usd"] is None
    assert (data["groups"], data["daily"], data["recent"]) == ([], [], [])
    json.dumps(data)


def test_an_empty_store_reports_nothing(sqlite_store: Store) -> None:
    assert_empty(build_report(sqlite_store, since=T0, until=UNTIL, by="model").as_json())


def test_a_store_not_created_yet_reads_as_empty_and_stays_absent(tmp_path: Path) -> None:
    path = tmp_path / "none" / "tierwise.db"
    with Store(str(path)) as store:
        assert_empty(build_report(store, until=UNTIL).as_json())
    assert not path.exists()


def test_a_store_without_the_table_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).close()  # a database file, but nothing of tierwise's in it
    with Store(str(path)) as store:
        report = build_report(store, until=UNTIL)
    assert report.empty


def test_bad_arguments(hand_store: Store) -> None:
    with pytest.raises(InputError, match="--by: unknown breakdown 'colour'"):
        build_report(hand_store, by="colour")
    with pytest.raises(InputError, match="must be before"):
        build_report(hand_store, since=UNTIL, until=T0)
    with pytest.raises(InputError, match="timezone-aware"):
        build_report(hand_store, since=T0.replace(tzinfo=None))
    assert set(BREAKDOWNS) == {"model", "tier", "task-type", "domain", "user-tier", "day", "caller"}


def test_money_sums_are_exact_on_large_totals(sqlite_store: Store) -> None:
    records = [
        record(f"m{i}", T0, cost_micro_usd=333_333_333, baseline_cost_micro_usd=10**9)
        for i in range(3)
    ]  # three times $333.333333 against $1000
    sqlite_store.insert_many(records)
    totals = build_report(sqlite_store, until=UNTIL).as_json()["totals"]
    assert totals["cost_usd"] == "999.999999"
    assert totals["cost_per_task_usd"] == "333.333333"
    assert totals["baseline_cost_usd"] == "3000.000000"
    assert totals["savings_usd"] is None  # no record carries savings
    assert totals["savings_pct"] is None


def test_records_are_decision_records(hand_store: Store) -> None:
    report = build_report(hand_store, since=T0, until=UNTIL, recent=1)
    assert isinstance(report.recent[0], DecisionRecord)
    assert report.recent[0].request_id == "r5"
