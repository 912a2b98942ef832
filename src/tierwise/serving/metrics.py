"""Prometheus metrics for the proxy: what every request cost, saved, and how routing decided.

``ProxyMetrics.observe`` is an ``on_outcome`` hook. It runs on the event loop after each
response, so it does no I/O and takes no lock: one label combination's counts are plain
integers found through a dict (money in exact micro-dollars, turned into USD only when
scraped), and its latency histograms' children are looked up once. Every label has a
bounded set of values: models the catalog does not know are ``other``, error types Anthropic
does not define are ``other``, and routing is labelled by the *name* of the strategy that set
the tier (``decided_by``), never by the free-text reason.

Each app gets its own ``CollectorRegistry``, so two proxies in one process do not collide.
The recorder's counters are read only when ``/metrics`` is scraped (a custom collector), so
they cost nothing per request.

Savings are split into two counters because a counter cannot go down: ``savings`` counts the
requests that cost less than their baseline, ``overspend`` those that cost more (a fallback
upward, a larger window); net savings are ``savings - overspend`` = ``baseline - cost``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

from tierwise.core.catalog import Catalog, default_catalog
from tierwise.core.decision import Action, Decision
from tierwise.core.errors import UnknownModelError
from tierwise.ledger.outcome import OutcomeHook, ignore_outcome, notify
from tierwise.ledger.records import micro_usd
from tierwise.messages.api_errors import ERROR_TYPES

if TYPE_CHECKING:
    from tierwise.ledger.outcome import Outcome
    from tierwise.ledger.recorder import RecorderStats
    from tierwise.serving.auth import ClientKeys

__all__ = [
    "DECISION_BUCKETS",
    "LATENCY_BUCKETS",
    "MetricsEndpoint",
    "ProxyMetrics",
    "decided_by",
    "observed",
]

# routing runs in microseconds; a strategy that calls out may take up to a second
DECISION_BUCKETS = (
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.1, 0.25, 1.0,
)  # fmt: skip
# upstream answers take milliseconds (count_tokens) to minutes (long generations)
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip

OTHER = "other"  # a label value outside the known set
NONE = "none"  # the label's subject did not exist (no model, no routing)
PASS_THROUGH = "passthrough"  # routed without a decision: a concrete model passed through
_CACHE_LIMIT = 1024  # caches keyed by caller-chosen strings are cleared when they reach this
_TOKEN_KINDS = (
    ("input", "input_tokens"),
    ("cache_write_5m", "cache_write_5m_tokens"),
    ("cache_write_1h", "cache_write_1h_tokens"),
    ("cache_read", "cache_read_tokens"),
    ("output", "output_tokens"),
    ("thinking", "thinking_tokens"),
)
_ERROR_TYPES = frozenset({*ERROR_TYPES.values(), "client_disconnected"})
# verdicts added after the router chose, each moving the request: the last one decided
_AFTER_ROUTING = frozenset({"window", "pinning", "session", "prefill", "rewrite", "fallback"})


class RecorderLike(Protocol):
    """What the metrics read from a recorder: a snapshot of its counters."""

    def stats(self) -> RecorderStats: ...


def decided_by(decision: Decision | None) -> str:
    """The name of the strategy that set the decision's tier.

    The router's rule, replayed on the trace: the first *decide* picks the tier (none: the
    policy's default tier, ``default``), then the highest floor raises it and the lowest
    ceiling caps it; a verdict added after the router (window, pinning, session, prefill,
    rewrite, fallback) overrides them all.
    """
    if decision is None:
        return PASS_THROUGH
    by, tier = "default", None
    floor = ceiling = last = None
    for verdict in decision.trace:
        if verdict.tier is None or verdict.action is Action.PASS:
            continue
        if verdict.strategy in _AFTER_ROUTING:
            last = verdict
        elif verdict.action is Action.DECIDE:
            if tier is None:
                by, tier = verdict.strategy, verdict.tier
        elif verdict.action is Action.FLOOR:
            if floor is None or verdict.tier > floor.tier:
                floor = verdict
        elif ceiling is None or verdict.tier < ceiling.tier:
            ceiling = verdict
    if last is not None:
        return last.strategy
    final = decision.tier
    raised = tier
    if floor is not None and (tier is None or tier < floor.tier):
        raised = floor.tier  # with no decide, the floor may have raised the default tier
    if ceiling is not None and ceiling.tier == final and (raised is None or raised > final):
        return ceiling.strategy
    if floor is not None and floor.tier == final and (tier is None or tier < final):
        return floor.strategy
    return by


@dataclass(slots=True)
class _Series:
    """One label combination: its counts (plain ints: exact micro-dollars, no lock per
    increment) and its latency histograms' children, looked up once."""

    labels: tuple[str, str, str, str, str]  # endpoint, model, tier, decided_by, status
    counts: list[int]  # requests, cost, baseline, savings, overspend (µUSD), tokens by kind
    upstream: Histogram
    ttfb: Histogram


_REQUESTS, _COST, _BASELINE, _SAVINGS, _OVERSPEND, _TOKENS = range(6)  # indexes into counts
_MONEY = (
    ("tierwise_cost_usd", "What requests cost, in USD.", _COST),
    (
        "tierwise_baseline_cost_usd",
        "The same usage priced on the baseline model, in USD.",
        _BASELINE,
    ),
    (
        "tierwise_savings_usd",
        "Baseline minus cost, in USD, over the requests that cost less than their baseline.",
        _SAVINGS,
    ),
    (
        "tierwise_overspend_usd",
        "Cost minus baseline, in USD, over the requests that cost more than their baseline "
        "(net savings = savings - overspend).",
        _OVERSPEND,
    ),
)


class ProxyMetrics:
    """The proxy's Prometheus metrics in their own registry; ``observe`` is the outcome hook.

    ``observe`` must be called from one thread at a time (the proxy calls it on its event
    loop); scrapes may come from any thread.
    """

    def __init__(
        self, recorder: RecorderLike | None = None, *, catalog: Catalog | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self._catalog = catalog or default_catalog()
        self._models: dict[str | None, tuple[str, str]] = {None: (NONE, NONE)}
        self._series: dict[tuple[str, str, str, int], _Series] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self._escalations = 0
        self._fallbacks = 0
        self.registry.register(_Collector(self._count_families))
        self._decision_latency = Histogram(
            "tierwise_decision_latency_seconds",
            "Time spent routing one request.",
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )
        self._upstream_latency = Histogram(
            "tierwise_upstream_latency_seconds",
            "From the first upstream attempt to the served response's status line.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._ttfb = Histogram(
            "tierwise_ttfb_seconds",
            "From the request's arrival to the first body byte sent back.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if recorder is not None:
            self.registry.register(_Collector(partial(_recorder_families, recorder)))

    def observe(self, outcome: Outcome) -> None:
        """Count one finished request (a few microseconds; no I/O, no waiting)."""
        model, tier = self._model(outcome)
        routed = outcome.routed
        by = decided_by(routed.decision) if routed is not None else NONE
        key = (outcome.endpoint, model, by, outcome.status)
        series = self._series.get(key)
        if series is None:
            series = self._new_series(key, tier)
        counts = series.counts
        counts[_REQUESTS] += 1
        cost, baseline = outcome.cost, outcome.baseline_cost
        if cost is not None:
            micro = cost.total_micro_usd
            if outcome.routing_calls or len(outcome.attempts) > 1:  # all it spent, as recorded
                total = outcome.total_cost
                micro = micro_usd(total) if total is not None else micro
            counts[_COST] += micro
            if baseline is not None:
                base = baseline.total_micro_usd
                counts[_BASELINE] += base
                if base >= micro:
                    counts[_SAVINGS] += base - micro
                else:
                    counts[_OVERSPEND] += micro - base
        usage = outcome.usage
        if usage is not None:
            for index, (_, field) in enumerate(_TOKEN_KINDS, _TOKENS):
                counts[index] += getattr(usage, field)
        if outcome.decision_latency is not None:
            self._decision_latency.observe(outcome.decision_latency)
        if outcome.upstream_latency is not None:
            series.upstream.observe(outcome.upstream_latency)
        if outcome.ttfb is not None:
            series.ttfb.observe(outcome.ttfb)
        if len(outcome.attempts) > 1:
            self._count_attempts(outcome)
        if outcome.error_type is not None:
            error = outcome.error_type if outcome.error_type in _ERROR_TYPES else OTHER
            key_error = (outcome.endpoint, error)
            self._errors[key_error] = self._errors.get(key_error, 0) + 1

    __call__ = observe

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics in the format ``accept`` asks for (Prometheus text by default, or
        OpenMetrics), and its content type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type

    # -- label values -------------------------------------------------------------------------

    def _model(self, outcome: Outcome) -> tuple[str, str]:
        """(model label, tier label): the model that served, else the last one tried, else
        the routed or requested one; catalog ids only."""
        name = outcome.served_model
        if name is None:
            if outcome.attempts:
                name = outcome.attempts[-1].model
            elif outcome.routed is not None:
                name = outcome.routed.model
            else:
                name = outcome.requested_model
        labels = self._models.get(name)
        if labels is None:
            labels = self._resolve(name)
        return labels

    def _resolve(self, name: str | None) -> tuple[str, str]:
        try:
            spec = self._catalog.get(name) if name is not None else None
        except UnknownModelError:
            spec = None
        labels = (spec.id, spec.line.value) if spec is not None else (OTHER, NONE)
        if len(self._models) >= _CACHE_LIMIT:
            self._models = {None: (NONE, NONE)}  # callers choose model names: stay bounded
        self._models[name] = labels
        return labels

    def _new_series(self, key: tuple[str, str, str, int], tier: str) -> _Series:
        endpoint, model, by, status = key
        series = _Series(
            labels=(endpoint, model, tier, by, str(status)),
            counts=[0] * (_TOKENS + len(_TOKEN_KINDS)),
            upstream=self._upstream_latency.labels(model),
            ttfb=self._ttfb.labels(model),
        )
        self._series[key] = series  # every part of the key has a bounded set of values
        return series

    def _count_attempts(self, outcome: Outcome) -> None:
        """Escalations and fallbacks among the attempts after the first. An attempt whose kind
        says neither (no kind, or the default) is a fallback when it moved to another model."""
        previous = outcome.attempts[0].model
        for attempt in outcome.attempts[1:]:
            kind = getattr(attempt, "kind", None)
            if kind == "escalation":
                self._escalations += 1
            elif kind == "fallback" or (kind != "retry" and attempt.model != previous):
                self._fallbacks += 1
            previous = attempt.model

    # -- the scrape ---------------------------------------------------------------------------

    def _count_families(self) -> Iterator[Metric]:
        """The counters, summed from the series at scrape time (money from exact µUSD)."""
        series = list(self._series.values())
        requests = CounterMetricFamily(
            "tierwise_requests",
            "Requests by endpoint, model (served, else tried, else asked for), its tier, the "
            "strategy that decided, and HTTP status.",
            labels=["endpoint", "model", "tier", "decided_by", "status"],
        )
        by_model: dict[tuple[str, str], list[int]] = {}
        for one in series:
            requests.add_metric(one.labels, one.counts[_REQUESTS])
            totals = by_model.setdefault(one.labels[1:3], [0] * len(one.counts))
            for index, count in enumerate(one.counts):
                totals[index] += count
        yield requests
        for name, doc, index in _MONEY:
            money = CounterMetricFamily(name, doc, labels=["model", "tier"])
            for labels, totals in by_model.items():
                money.add_metric(labels, totals[index] / 1e6)
            yield money
        tokens = CounterMetricFamily(
            "tierwise_tokens",
            "Tokens by model and kind (thinking tokens are also counted in output).",
            labels=["model", "kind"],
        )
        for (model, _), totals in by_model.items():
            for index, (kind, _) in enumerate(_TOKEN_KINDS, _TOKENS):
                tokens.add_metric([model, kind], totals[index])
        yield tokens
        errors = CounterMetricFamily(
            "tierwise_request_errors",
            "Failed requests by Anthropic error type (including errors inside a 200 stream).",
            labels=["endpoint", "error_type"],
        )
        for labels, count in list(self._errors.items()):
            errors.add_metric(labels, count)
        yield errors
        yield CounterMetricFamily(
            "tierwise_escalations",
            "Attempts that escalated to a stronger model.",
            value=self._escalations,
        )
        yield CounterMetricFamily(
            "tierwise_fallbacks",
            "Attempts on a fallback model after the one before it failed.",
            value=self._fallbacks,
        )


class _Collector:
    """A custom collector from a function: it runs at scrape time only."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self.collect = collect


def _recorder_families(recorder: RecorderLike) -> Iterator[Metric]:
    """The recorder's counters (read at scrape time only)."""
    stats = recorder.stats()
    yield GaugeMetricFamily(
        "tierwise_recorder_queued", "Records waiting to be written.", value=stats.queued
    )
    yield GaugeMetricFamily(
        "tierwise_recorder_store_up",
        "1 when the decision store is reachable, 0 while records go to the spool.",
        value=int(stats.store_available),
    )
    counters = (
        ("recorded", "Outcomes handed to the recorder.", stats.recorded),
        ("written", "Records written to the store from the queue.", stats.written),
        ("spooled", "Records put in the disk spool while the store was away.", stats.spooled),
        ("replayed", "Records written to the store from the spool.", stats.replayed),
        ("rejected", "Records the database refused, kept aside.", stats.rejected),
        ("dropped", "Records lost: store and spool both failed.", stats.dropped),
    )
    for name, doc, value in counters:
        yield CounterMetricFamily(f"tierwise_recorder_{name}", doc, value=value)


class MetricsEndpoint:
    """``GET /metrics``; needs a client key when the proxy has client keys, like ``/v1/*``."""

    def __init__(self, metrics: ProxyMetrics, keys: ClientKeys | None) -> None:
        self._metrics = metrics
        self._keys = keys

    async def get(self, request: Request) -> Response:
        """The scrape (a Starlette request/response endpoint)."""
        if self._keys is not None:
            headers = request.headers
            self._keys.authenticate(headers.get("x-api-key"), headers.get("authorization"))
        body, content_type = self._metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)


def observed(hook: OutcomeHook, metrics: ProxyMetrics | None) -> OutcomeHook:
    """``hook`` plus the metrics: both see every outcome, and neither one failing stops the
    other."""
    if metrics is None:
        return hook
    observe = metrics.observe
    if hook is ignore_outcome:
        return observe

    def both(outcome: Outcome) -> None:
        notify(hook, outcome)
        notify(observe, outcome)

    return both
