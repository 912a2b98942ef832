"""The Outcome each request hands to the hook: usage, cost, baseline, latencies, attempts."""

from __future__ import annotations

import httpx

from tierwise.core.pricing import cost
from tierwise.core.usage import Usage
from tierwise.ledger.outcome import price

from .harness import HELLO, VERSION, Proxy


def send(proxy: Proxy, **fields: object) -> httpx.Response:
    body = {"max_tokens": 50, "messages": HELLO, **fields}
    return httpx.post(f"{proxy.url}/v1/messages", json=body, headers=VERSION)


def test_routed_request_is_priced_on_the_served_model_against_the_top_tier(proxy: Proxy) -> None:
    response = send(proxy, model="auto", metadata={"tierwise_task_type": "format"})
    (outcome,) = proxy.wait_outcomes()
    usage = response.json()["usage"]
    assert outcome.served_model == "claude-haiku-5-5"
    assert outcome.requested_model == "auto"
    assert outcome.baseline_model == "claude-opus-5-5"
    assert outcome.decision is not None
    assert outcome.usage == Usage.from_api(usage)
    assert outcome.cost == cost(outcome.usage, "claude-haiku-5-5")
    assert outcome.baseline_cost == cost(outcome.usage, "claude-opus-5-5")
    assert outcome.baseline_cost.total > outcome.cost.total
    assert outcome.status == 200
    assert not outcome.stream
    assert outcome.error_type is None
    assert outcome.decision_latency is not None
    assert round(outcome.decision_latency * 1e6) == int(response.headers["x-tierwise-decision-us"])
    assert outcome.upstream_latency is not None
    assert outcome.ttfb is not None
    assert outcome.total_latency >= outcome.ttfb >= outcome.upstream_latency > 0
    assert outcome.request_id.startswith("req_tierwise_")


def test_pass_through_baseline_is_the_requested_model(proxy: Proxy) -> None:
    send(proxy, model="claude-sonnet-5-5", inference_geo="us")
    (outcome,) = proxy.wait_outcomes()
    assert outcome.decision is None
    assert outcome.baseline_model == "claude-sonnet-5-5"
    assert outcome.cost is not None
    assert outcome.cost.us_geo
    assert outcome.cost == outcome.baseline_cost


def test_a_model_outside_the_catalog_has_no_cost(proxy: Proxy) -> None:
    response = send(proxy, model="claude-future-9")
    assert response.status_code == 200
    (outcome,) = proxy.wait_outcomes()
    assert outcome.usage is not None
    assert outcome.cost is None
    assert outcome.baseline_cost is None


def test_a_refused_request_has_an_outcome_too(proxy: Proxy) -> None:
    send(proxy, model="gpt-4")
    (outcome,) = proxy.wait_outcomes()
    assert outcome.status == 400
    assert outcome.error_type == "invalid_request_error"
    assert outcome.routed is None
    assert outcome.attempts == ()
    assert outcome.cost is None


def test_price_guards() -> None:
    usage = Usage(input_tokens=10, output_tokens=5)
    assert price(None, "claude-haiku-5-5") is None
    assert price(usage, None) is None
    assert price(usage, "claude-nope") is None
    assert price(usage, "claude-haiku-5-5", {"speed": "fast"}) is None  # no fast-mode prices
    assert price(usage, "claude-haiku-5-5", {"speed": 3}) == cost(usage, "claude-haiku-5-5")
