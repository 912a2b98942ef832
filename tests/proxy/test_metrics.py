"""``/metrics``: real traffic through the proxy (official SDK, fake upstream), then a scrape
parsed with prometheus_client's own parser, checked against the outcomes the proxy reported."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tierwise.cli.serve import _build
from tierwise.core.decision import Action, Decision, Verdict
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome, OutcomeHook, price
from tierwise.ledger.recorder import Recorder
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ClientKeys, ProxyServer, ProxySettings, create_app
from tierwise.serving.metrics import ProxyMetrics, RecorderLike, decided_by
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import Fail, FakeAnthropicServer, FakeConfig

from .harness import FAST_RETRIES, HELLO, Proxy

OPUS = {"x-tierwise-task-type": "architect"}  # the default policy sends this to Opus
SERVER_KEY = "sk-ant-server-0123456789"
ALICE = "tw-alice-key-abcdef"
Metered = Callable[..., tuple[Proxy, ProxyMetrics]]


@pytest.fixture
def metered(fake: FakeAnthropicServer) -> Iterator[Metered]:
    """Start proxies with metrics on ``fake`` (or ``upstream=``); stopped after the test."""
    running: list[Proxy] = []

    def start(
        *,
        recorder: RecorderLike | None = None,
        hook: OutcomeHook | None = None,
        upstream: FakeAnthropicServer | None = None,
        **overrides: Any,
    ) -> tuple[Proxy, ProxyMetrics]:
        target = upstream or fake
        config = UpstreamConfig(base_url=target.url, retry=FAST_RETRIES)
        settings = replace(ProxySettings(upstream=config), **overrides)
        metrics = ProxyMetrics(recorder)
        outcomes: list[Outcome] = []
        router = MessagesRouter(Router())
        app = create_app(router, settings, on_outcome=hook or outcomes.append, metrics=metrics)
        proxy = Proxy(ProxyServer(app).start(), target, router, outcomes)
        running.append(proxy)
        return proxy, metrics

    yield start
    for proxy in running:
        proxy.server.stop()


def scrape(url: str, **headers: str) -> list[Sample]:
    response = httpx.get(f"{url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = text_string_to_metric_families(response.text)
    return [sample for family in families for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def usd(micro: int) -> float:
    return micro / 1e6


def eventually(done: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for ``done``: the outcome hook runs just after the response has been sent."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_traffic_is_counted_as_the_outcomes_report_it(metered: Metered) -> None:
    proxy, _ = metered()
    fake = proxy.fake
    with proxy.sdk() as client:
        client.messages.create(model="auto", max_tokens=20, messages=HELLO)
        with client.messages.stream(model="auto", max_tokens=50, messages=HELLO) as stream:
            assert "".join(stream.text_stream)
        client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=HELLO)
        client.messages.count_tokens(model="auto", messages=HELLO)
        fake.script.fail(400, message="messages.0: bad block")
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(model="auto", max_tokens=20, messages=HELLO, extra_headers=OPUS)
        fake.script.set_default(Fail(529), model="claude-opus-5-5")
        fallback = client.messages.create(
            model="auto", max_tokens=20, messages=HELLO, extra_headers=OPUS
        )
        assert fallback.model == "claude-sonnet-5-5"
        fake.script.stream_error(after_events=3, error_type="overloaded_error")
        with (
            pytest.raises(anthropic.APIStatusError),
            client.messages.stream(model="claude-haiku-5-5", max_tokens=50, messages=HELLO) as s,
        ):
            s.until_done()
    outcomes = proxy.wait_outcomes(7)
    samples = scrape(proxy.url)

    # one request per outcome, under the status and endpoint each one had
    assert value(samples, "tierwise_requests_total") == len(outcomes) == 7
    statuses = sorted(str(o.status) for o in outcomes)
    assert statuses == ["200"] * 6 + ["400"]
    for status in set(statuses):
        assert value(samples, "tierwise_requests_total", status=status) == statuses.count(status)
    assert value(samples, "tierwise_requests_total", endpoint="count_tokens") == 1
    assert value(samples, "tierwise_requests_total", status="400", model="claude-opus-5-5") == 1
    # labelled by the strategy that decided, never by the reason's free text
    assert value(samples, "tierwise_requests_total", decided_by="passthrough") == 2
    assert value(samples, "tierwise_requests_total", decided_by="task_type") == 2
    reasons = {o.routed.reason for o in outcomes if o.routed is not None}
    labels = {s.labels.get("decided_by") for s in samples}
    assert not reasons & labels
    # the fallback is counted, and its request under the model that served it
    assert value(samples, "tierwise_fallbacks_total") == 1
    assert value(samples, "tierwise_escalations_total") == 0
    assert value(
        samples, "tierwise_requests_total", model="claude-sonnet-5-5", tier="sonnet", status="200"
    ) == sum(1 for o in outcomes if o.served_model == "claude-sonnet-5-5")
    assert value(samples, "tierwise_request_errors_total", error_type="invalid_request_error") == 1
    assert value(samples, "tierwise_request_errors_total", error_type="overloaded_error") == 1

    # money: per model, the sums of the outcomes' exact micro-dollars, in USD
    priced = [o for o in outcomes if o.cost is not None and o.baseline_cost is not None]
    assert len(priced) >= 4
    models = {o.served_model for o in priced}
    assert len(models) >= 2
    for model in models:
        micro = [
            (o.cost.total_micro_usd, o.baseline_cost.total_micro_usd)
            for o in priced
            if o.served_model == model and o.cost is not None and o.baseline_cost is not None
        ]
        assert model is not None
        expected = {
            "tierwise_cost_usd_total": sum(c for c, _ in micro),
            "tierwise_baseline_cost_usd_total": sum(b for _, b in micro),
            "tierwise_savings_usd_total": sum(max(b - c, 0) for c, b in micro),
            "tierwise_overspend_usd_total": sum(max(c - b, 0) for c, b in micro),
        }
        for name, total in expected.items():
            assert value(samples, name, model=model) == usd(total), (name, model)
    cost = value(samples, "tierwise_cost_usd_total")
    baseline = value(samples, "tierwise_baseline_cost_usd_total")
    assert baseline > cost > 0  # routing "auto" below Opus saved money
    net = value(samples, "tierwise_savings_usd_total") - value(
        samples, "tierwise_overspend_usd_total"
    )
    assert net == pytest.approx(baseline - cost, rel=1e-9)

    # tokens by kind
    for kind, field in (("input", "input_tokens"), ("output", "output_tokens")):
        expected = sum(getattr(o.usage, field) for o in outcomes if o.usage is not None)
        assert expected > 0
        assert value(samples, "tierwise_tokens_total", kind=kind) == expected

    # histograms: one observation per outcome that had the step, and their sums
    for name, attribute in (
        ("tierwise_decision_latency_seconds", "decision_latency"),
        ("tierwise_upstream_latency_seconds", "upstream_latency"),
        ("tierwise_ttfb_seconds", "ttfb"),
    ):
        seen = [getattr(o, attribute) for o in outcomes if getattr(o, attribute) is not None]
        assert seen, attribute
        assert value(samples, f"{name}_count") == len(seen)
        assert value(samples, f"{name}_bucket", le="+Inf") == len(seen)
        assert value(samples, f"{name}_sum") == pytest.approx(sum(seen), rel=1e-9)


def test_overspend_is_counted_apart_from_savings(metered: Metered) -> None:
    """A counter cannot go down: a request dearer than its baseline adds to ``overspend``."""
    proxy, _ = metered()
    with proxy.sdk() as client:
        client.messages.create(model="claude-haiku-5-5", max_tokens=5, messages=HELLO)
    (served,) = proxy.wait_outcomes(1)
    usage = served.usage
    dear, cheap = price(usage, "claude-opus-5-5"), price(usage, "claude-haiku-5-5")
    assert dear is not None
    assert cheap is not None
    metrics = ProxyMetrics()
    metrics.observe(replace(served, cost=dear, baseline_cost=cheap))
    metrics.observe(replace(served, cost=cheap, baseline_cost=dear))
    text, _ = metrics.exposition()
    samples = [s for f in text_string_to_metric_families(text.decode()) for s in f.samples]
    gap = dear.total_micro_usd - cheap.total_micro_usd
    assert gap > 0
    assert value(samples, "tierwise_overspend_usd_total") == usd(gap)
    assert value(samples, "tierwise_savings_usd_total") == usd(gap)
    both = dear.total_micro_usd + cheap.total_micro_usd
    assert value(samples, "tierwise_cost_usd_total") == usd(both)
    assert value(samples, "tierwise_baseline_cost_usd_total") == usd(both)


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(metered: Metered) -> None:
    proxy, _ = metered()
    accept = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    response = httpx.get(f"{proxy.url}/metrics", headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_unknown_models_share_one_label(metered: Metered) -> None:
    proxy, _ = metered()
    names = [f"claude-nonexistent-{n}" for n in range(5)]
    with proxy.sdk() as client:
        for name in names:
            client.messages.create(model=name, max_tokens=5, messages=HELLO)
    proxy.wait_outcomes(len(names))
    samples = scrape(proxy.url)
    models = {s.labels["model"] for s in samples if s.name == "tierwise_requests_total"}
    assert models == {"other"}
    assert value(samples, "tierwise_requests_total", model="other", tier="none") == len(names)
    assert not any(name in s.labels.values() for s in samples for name in names)


def test_a_failing_hook_does_not_stop_the_metrics(metered: Metered) -> None:
    calls: list[str] = []

    def broken(outcome: Outcome) -> None:
        calls.append(outcome.request_id)
        raise RuntimeError("hook bug")

    proxy, _ = metered(hook=broken)
    with proxy.sdk() as client:
        client.messages.create(model="auto", max_tokens=5, messages=HELLO)
        client.messages.create(model="auto", max_tokens=5, messages=HELLO)
    eventually(lambda: len(calls) == 2)
    samples = scrape(proxy.url)
    assert value(samples, "tierwise_requests_total") == 2


def test_the_recorder_state_is_exported(metered: Metered, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "tierwise.db"))
    with Recorder(store, flush_interval=0.01) as recorder:
        proxy, _ = metered(recorder=recorder, hook=recorder.record)
        with proxy.sdk() as client:
            for _ in range(3):
                client.messages.create(model="auto", max_tokens=5, messages=HELLO)
        eventually(lambda: recorder.stats().recorded == 3)
        assert recorder.flush(timeout=10)
        samples = scrape(proxy.url)
        stats = recorder.stats()
    assert stats.written == 3
    assert value(samples, "tierwise_recorder_recorded_total") == stats.recorded == 3
    assert value(samples, "tierwise_recorder_written_total") == stats.written
    assert value(samples, "tierwise_recorder_queued") == 0
    assert value(samples, "tierwise_recorder_store_up") == 1
    for name in ("spooled", "replayed", "rejected", "dropped"):
        assert value(samples, f"tierwise_recorder_{name}_total") == 0


def test_client_keys_protect_the_metrics(metered: Metered) -> None:
    with FakeAnthropicServer(FakeConfig(api_keys={SERVER_KEY})) as upstream:
        proxy, _ = metered(
            upstream=upstream,
            server_key=SERVER_KEY,
            client_keys=ClientKeys.parse(f"alice: {ALICE}", "test"),
        )
        with proxy.sdk(api_key=ALICE) as client:
            client.messages.create(model="auto", max_tokens=5, messages=HELLO)
        for headers in ({}, {"x-api-key": "tw-wrong"}, {"x-api-key": SERVER_KEY}):
            response = httpx.get(f"{proxy.url}/metrics", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "authentication_error"
        by_header = scrape(proxy.url, **{"x-api-key": ALICE})
        by_bearer = scrape(proxy.url, authorization=f"Bearer {ALICE}")
    assert value(by_header, "tierwise_requests_total") == 1
    assert value(by_bearer, "tierwise_requests_total") == 1


@pytest.mark.parametrize("enabled", [True, False])
def test_serve_metrics_option(fake: FakeAnthropicServer, enabled: bool) -> None:
    app, _, _, recorder = _build(
        "127.0.0.1", 8080, None, fake.url, None, None, 32, record=False, metrics=enabled
    )
    assert recorder is None
    with (
        ProxyServer(app) as server,
        anthropic.Anthropic(base_url=server.url, api_key="sk-ant-caller", max_retries=0) as client,
    ):
        client.messages.create(model="auto", max_tokens=5, messages=HELLO)
        response = httpx.get(f"{server.url}/metrics")
    if enabled:
        assert response.status_code == 200
        assert "tierwise_requests_total" in response.text
    else:
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found_error"


def test_the_apps_have_separate_registries(metered: Metered) -> None:
    first, _ = metered()
    second, _ = metered()
    with first.sdk() as client:
        client.messages.create(model="auto", max_tokens=5, messages=HELLO)
    first.wait_outcomes(1)
    assert value(scrape(first.url), "tierwise_requests_total") == 1
    assert value(scrape(second.url), "tierwise_requests_total") == 0


# -- decided_by: the router's rule replayed on a trace ------------------------------------------


def decision(tier: Tier, *trace: Verdict) -> Decision:
    return Decision("m", tier, 100, "reason text", trace, "claude-opus-5-5")


KEYWORDS = Verdict("keywords", Action.DECIDE, "matched 'write tests'", tier=Tier.SONNET)
BREVITY = Verdict("brevity", Action.DECIDE, "short", tier=Tier.HAIKU)
CONTEXT = Verdict("context_size", Action.FLOOR, "long prompt", tier=Tier.OPUS)
USER = Verdict("user_tier", Action.CEILING, "free plan", tier=Tier.HAIKU)
PASSING = Verdict("domain", Action.PASS, "no domain")


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (decision(Tier.SONNET, PASSING, KEYWORDS, BREVITY), "keywords"),  # the first decide wins
        (decision(Tier.OPUS, KEYWORDS, CONTEXT), "context_size"),  # a floor that raised it
        (decision(Tier.SONNET, replace(CONTEXT, tier=Tier.HAIKU), KEYWORDS), "keywords"),
        (decision(Tier.HAIKU, KEYWORDS, CONTEXT, USER), "user_tier"),  # the ceiling wins
        (decision(Tier.HAIKU, BREVITY, USER), "brevity"),  # a ceiling that did not bind
        (decision(Tier.SONNET, PASSING), "default"),
        (
            decision(
                Tier.OPUS,
                KEYWORDS,
                Verdict("window", Action.FLOOR, "too long", tier=Tier.OPUS),
            ),
            "window",
        ),
        (
            decision(
                Tier.HAIKU,
                KEYWORDS,
                Verdict("pinning", Action.DECIDE, "pinned", tier=Tier.HAIKU),
            ),
            "pinning",
        ),
        (None, "passthrough"),
    ],
)
def test_decided_by(made: Decision | None, expected: str) -> None:
    assert decided_by(made) == expected
