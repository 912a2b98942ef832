"""The dashboard's HTTP side over a real socket: the page, its assets, and its JSON API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tierwise.analysis.dashboard.params import MAX_TASK_BYTES
from tierwise.analysis.report import build_report
from tierwise.core.recommend import recommend
from tierwise.core.request import RouteRequest
from tierwise.ledger.records import DecisionRecord

from .conftest import Dashboard, DashboardFactory
from .dataset import expected


def _config(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="tierwise-config">(.*?)</script>', page)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def _error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["request_id"].startswith("req_tierwise_")
    message: str = body["error"]["message"]
    return message


def test_the_report_api_is_build_report_over_the_store(
    dashboard: Dashboard, records: list[DecisionRecord]
) -> None:
    response = httpx.get(f"{dashboard.url}/dashboard/api/report?since=30d&by=tier")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    got = response.json()
    assert dashboard.store is not None
    direct = build_report(dashboard.store, by="tier").as_json()
    for volatile in ("generated_at", "period"):
        got.pop(volatile)
        direct.pop(volatile)
    assert got == direct
    want = expected(records)
    assert got["totals"]["requests"] == want.requests
    assert Decimal(got["totals"]["savings_usd"]) == want.savings
    assert {g["key"] for g in got["groups"]} == set(want.tier_shares)


def test_report_parameters_are_checked(dashboard: Dashboard) -> None:
    api = f"{dashboard.url}/dashboard/api/report"
    assert "since" in _error(httpx.get(f"{api}?since=yesterday"), 400, "invalid_request_error")
    assert "by" in _error(httpx.get(f"{api}?by=colour"), 400, "invalid_request_error")
    assert "recent" in _error(httpx.get(f"{api}?recent=many"), 400, "invalid_request_error")
    assert "recent" in _error(httpx.get(f"{api}?recent=9999"), 400, "invalid_request_error")
    one = httpx.get(f"{api}?since=all&by=none&recent=1").json()
    assert one["groups"] == []
    assert one["by"] is None
    assert len(one["recent"]) == 1


def test_an_old_since_excludes_the_records(dashboard: Dashboard) -> None:
    report = httpx.get(f"{dashboard.url}/dashboard/api/report?since=30m").json()
    assert report["totals"]["requests"] == 0  # the newest record is an hour old


@pytest.mark.parametrize(
    ("body", "task_type"),
    [
        ({"task": "Fix the typo in the README heading"}, None),
        ({"task": "Design the sharding scheme for our event store", "task_type": None}, None),
        ({"task": "Write unit tests for the parser", "task_type": "test"}, "test"),
    ],
)
def test_recommend_answers_as_the_selector_does(
    dashboard: Dashboard, body: dict[str, Any], task_type: str | None
) -> None:
    response = httpx.post(f"{dashboard.url}/dashboard/api/recommend", json=body)
    assert response.status_code == 200
    want = recommend(RouteRequest(text=body["task"], task_type=task_type), router=dashboard.router)
    assert response.json() == json.loads(json.dumps(want.as_dict()))


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"{}", "task"),
        (b'{"task": "   "}', "task"),
        (b'{"task": 42}', "task"),
        (b'{"task": "x", "task_type": 3}', "task_type"),
        (b'{"task": "x", "task_type": "juggling"}', "task_type"),
        (b'{"task": "x", "user_tier": "platinum"}', "user_tier"),
        (b'{"task": "x", "prompt": "y"}', "prompt"),
    ],
)
def test_bad_recommend_bodies_name_the_field(
    dashboard: Dashboard, content: bytes, field: str
) -> None:
    response = httpx.post(f"{dashboard.url}/dashboard/api/recommend", content=content)
    message = _error(response, 400, "invalid_request_error")
    assert message.startswith(f"{field}:"), message


def test_the_page_is_served_with_its_assets(dashboard: Dashboard) -> None:
    page = httpx.get(f"{dashboard.url}/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    config = _config(page.text)
    assert config["mode"] == "live"
    assert config["recording"] is True
    assert config["api"] == "/dashboard/api"
    assert "test" in config["task_types"]
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        assert f"/dashboard/static/{name}?v=" in page.text
        asset = httpx.get(f"{dashboard.url}/dashboard/static/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(kind)
        assert len(asset.text) > 1000
    assert "http://" not in page.text
    assert "https://" not in page.text


def test_only_the_two_assets_are_served(dashboard: Dashboard) -> None:
    for name in ("dashboard.html", "..%2F__init__.py", "x.js"):
        response = httpx.get(f"{dashboard.url}/dashboard/static/{name}")
        _error(response, 404, "not_found_error")


def test_without_recording_the_page_says_so(make_dashboard: DashboardFactory) -> None:
    dashboard = make_dashboard(store=None)
    page = httpx.get(f"{dashboard.url}/dashboard")
    assert page.status_code == 200
    assert _config(page.text)["recording"] is False
    report = httpx.get(f"{dashboard.url}/dashboard/api/report")
    assert "recording is off" in _error(report, 404, "not_found_error")
    selector = httpx.post(f"{dashboard.url}/dashboard/api/recommend", json={"task": "hello"})
    assert selector.status_code == 200  # the Model Selector needs no records


def test_a_huge_task_is_refused_without_reading_it_all(dashboard: Dashboard) -> None:
    body = b'{"task": "' + b"x" * (MAX_TASK_BYTES + 1) + b'"}'
    response = httpx.post(f"{dashboard.url}/dashboard/api/recommend", content=body)
    assert "body" in _error(response, 413, "request_too_large")

    def chunks() -> Iterator[bytes]:  # no content-length: the limit applies as it streams
        yield b'{"task": "'
        for _ in range(MAX_TASK_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    streamed = httpx.post(f"{dashboard.url}/dashboard/api/recommend", content=chunks())
    _error(streamed, 413, "request_too_large")
