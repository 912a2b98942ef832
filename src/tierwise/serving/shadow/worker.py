"""The shadow worker: evaluates sampled requests in the background, never on the request path.

On the request path there are two calls, both constant-time and free of I/O: ``wants(routed)``
(after routing: is this request sampled?) and ``offer(outcome, capture)`` (after the response:
queue the evaluation). The queue is bounded; when it is full the evaluation is dropped and
counted, never waited for.

The worker runs in the proxy's event loop (started by the app's lifespan) and takes one job at
a time: it re-sends the request to the baseline model (not streaming), asks the judge (blind,
positions at random; on a sample twice, swapped), stores the evaluation and its spend, and sets
the decision record's ``quality_score``. Sampling stops while the recorded spend of the UTC day
or month has reached the budget (checked after each evaluation, and every ``recheck`` seconds
while stopped); jobs already queued then are skipped. One evaluation may overshoot the budget
by its own cost: its price is known only once it is done.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections import deque
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from tierwise.core.errors import InputError, StoreError
from tierwise.core.policy_schema import ShadowConfig
from tierwise.core.usage import Usage
from tierwise.ledger.outcome import Outcome, price
from tierwise.ledger.store import Store
from tierwise.messages.routing import MessagesRouter, Routed
from tierwise.serving.fallback import encode
from tierwise.serving.headers import Header
from tierwise.serving.shadow.answer import Capture, render
from tierwise.serving.shadow.budget import Budget
from tierwise.serving.shadow.judge import (
    Comparison,
    Position,
    judge_body,
    judgement,
    read_preference,
    swapped,
)
from tierwise.serving.shadow.ledger import Ledger, ShadowRow
from tierwise.serving.upstream import Upstream, UpstreamError

__all__ = ["ShadowJob", "ShadowStats", "ShadowWorker"]

_log = logging.getLogger("tierwise.serving.shadow")
MESSAGES_PATH = "/v1/messages"
DEFAULT_VERSION = b"2023-06-01"
POSITIONS: tuple[Position, Position] = ("A", "B")


@dataclass(slots=True)
class ShadowStats:
    """Counters since the worker started (changed only on the event loop)."""

    sampled: int = 0  # requests whose answer was kept for evaluation
    queued: int = 0
    dropped: int = 0  # the queue was full
    ineligible: int = 0  # sampled, but failed or served by the baseline model after all
    over_budget: int = 0  # queued, then skipped because the budget was spent
    unreadable: int = 0  # no routed answer text to compare (e.g. a huge stream)
    shadow_failures: int = 0  # the baseline model gave no answer
    judged: int = 0
    judge_failures: int = 0  # no verdict: the score stays empty
    both_orders: int = 0
    disagreements: int = 0  # both orders asked, verdicts differ (position bias)
    scored: int = 0  # quality scores written to decision records
    unmatched: int = 0  # the decision record never appeared (recording off or behind)
    errors: int = 0  # unexpected failures (bugs), logged

    def snapshot(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class ShadowJob:
    """One sampled request to evaluate."""

    request_id: str
    routed: Routed
    served_model: str
    baseline_model: str
    capture: Capture
    time: datetime


@dataclass(slots=True)
class _Spend:
    usage: list[Usage]
    micro: int | None = None

    def add(self, usage: Usage | None, micro: int | None) -> None:
        if usage is not None:
            self.usage.append(usage)
        if micro is not None:
            self.micro = (self.micro or 0) + micro

    def tokens(self, name: str) -> int | None:
        return sum(getattr(u, name) for u in self.usage) if self.usage else None


class ShadowWorker:
    """Shadow evaluation for one proxy. ``api_key`` pays for the shadow and judge calls."""

    def __init__(
        self,
        config: ShadowConfig,
        store: Store,
        *,
        api_key: str,
        judge_model: str,
        seed: int | None = None,
        record_wait: float = 30.0,
        recheck: float = 60.0,
    ) -> None:
        if not api_key:
            raise InputError("shadow evaluation needs an API key to pay for its calls")
        self.config = config
        self.ledger = Ledger(store)
        self.budget = Budget.from_config(config)
        self.judge_model = judge_model
        self.stats = ShadowStats()
        self.paused = False  # the budget is spent: sample nothing
        self._key = api_key.encode("latin-1")
        self._sampling = random.Random(seed)
        self._positions = random.Random(None if seed is None else seed + 1)
        self._record_wait = record_wait
        self._recheck = recheck
        self._jobs: deque[ShadowJob] = deque()  # bounded by config.queue_size in offer()
        self._wake: anyio.Event | None = None  # set when a job arrives (made by run())

    # -- the request path ------------------------------------------------------------------

    def wants(self, routed: Routed) -> bool:
        """Whether to keep this request's answer: routed below its baseline, and drawn."""
        decision = routed.decision
        if self.paused or decision is None or routed.model == decision.baseline_model:
            return False
        share = self.config.shares.get(decision.task_type or "", self.config.share)
        if share <= 0 or self._sampling.random() >= share:
            return False
        self.stats.sampled += 1
        return True

    def offer(self, outcome: Outcome, capture: Capture) -> None:
        """Queue the evaluation of a finished request; drops (counted) when the queue is full."""
        baseline = outcome.baseline_model
        served = outcome.served_model
        routed = outcome.routed
        ok = 200 <= outcome.status < 300 and outcome.error_type is None
        if not ok or routed is None or served is None or baseline is None or served == baseline:
            self.stats.ineligible += 1
            return
        if len(self._jobs) >= self.config.queue_size:
            self.stats.dropped += 1
            return
        job = ShadowJob(outcome.request_id, routed, served, baseline, capture, datetime.now(UTC))
        self._jobs.append(job)
        self.stats.queued += 1
        if self._wake is not None:
            self._wake.set()

    # -- the worker ------------------------------------------------------------------------

    async def run(self, upstream: Upstream, router: MessagesRouter) -> None:
        """Evaluate queued jobs until cancelled (the app's lifespan does both)."""
        await anyio.to_thread.run_sync(self._prepare_store)
        await self._check_budget()
        async with anyio.create_task_group() as scoring:
            while True:
                if not self._jobs:
                    self._wake = anyio.Event()
                    with anyio.move_on_after(self._recheck if self.paused else math.inf):
                        await self._wake.wait()
                    if not self._jobs:  # a quiet while: has a new day or month begun?
                        await self._check_budget()
                        continue
                job = self._jobs.popleft()
                if self.paused:
                    self.stats.over_budget += 1
                    continue
                try:
                    await self._evaluate(job, upstream, router, scoring)
                except Exception:
                    self.stats.errors += 1
                    _log.exception("shadow evaluation of request %s failed", job.request_id)
                await self._check_budget()

    def _prepare_store(self) -> None:
        """Migrate the store, so that a fresh database has its tables before the first spend
        read (the recorder's writer process may not have got there yet)."""
        try:
            self.ledger.store.migrate()
        except StoreError as exc:  # the spend read says so, and the worker pauses
            _log.debug("shadow evaluation: cannot migrate the store yet: %s", exc)

    async def _check_budget(self) -> None:
        try:
            day, month = await anyio.to_thread.run_sync(self.ledger.spent, datetime.now(UTC))
        except StoreError as exc:  # spend unknown: spend nothing more until it is known
            _log.warning("shadow evaluation paused: %s", exc)
            self.paused = True
            return
        self.paused = self.budget.exhausted(day, month)

    async def _evaluate(
        self,
        job: ShadowJob,
        upstream: Upstream,
        router: MessagesRouter,
        scoring: anyio.abc.TaskGroup,
    ) -> None:
        routed_text = job.capture.text()
        if routed_text is None:
            self.stats.unreadable += 1
            return
        headers = self._headers(job.capture)
        body = {
            k: v
            for k, v in router.retarget(job.routed, job.baseline_model).body.items()
            if k != "stream"
        }
        shadow = _Spend([])
        judge = _Spend([])
        comparisons: list[Comparison] = []
        verdicts: list[Any] = []
        error: str | None = None
        try:
            message = await self._call(upstream, headers, body, job.baseline_model, shadow)
            baseline_text = render(message.get("content"))
            if baseline_text is None:
                raise ValueError("the baseline model's answer has no text")
        except (UpstreamError, ValueError) as exc:
            error = f"shadow_error: {exc}"[:500]
        else:
            position: Position = self._positions.choice(POSITIONS)
            comparisons.append(Comparison(position))
            if self._positions.random() < self.config.both_orders_share:
                comparisons.append(Comparison(swapped(position)))
            error = await self._judge(
                upstream, headers, job, routed_text, baseline_text, comparisons, verdicts, judge
            )
        result = judgement(verdicts) if error is None else None
        both = len(comparisons) > 1
        row = ShadowRow(
            request_id=job.request_id,
            time=job.time,
            task_type=job.routed.decision.task_type if job.routed.decision else None,
            routed_model=job.served_model,
            baseline_model=job.baseline_model,
            judge_model=self.judge_model,
            verdict=result.combined if result else None,
            quality_score=result.score if result else None,
            routed_position=comparisons[0].routed_position if comparisons else None,
            both_orders=both,
            orders_disagree=result.disagree if result else None,
            error=error,
            shadow_input_tokens=shadow.tokens("input_tokens"),
            shadow_output_tokens=shadow.tokens("output_tokens"),
            judge_input_tokens=judge.tokens("input_tokens"),
            judge_output_tokens=judge.tokens("output_tokens"),
            shadow_cost_micro_usd=shadow.micro,
            judge_cost_micro_usd=judge.micro,
        )
        await anyio.to_thread.run_sync(self.ledger.add, row)
        if result is None:  # counted once stored, so a count means the row is there
            if (error or "").startswith("shadow_error"):
                self.stats.shadow_failures += 1
            else:
                self.stats.judge_failures += 1
            return
        self.stats.judged += 1
        if both:
            self.stats.both_orders += 1
            self.stats.disagreements += bool(result.disagree)
        scoring.start_soon(self._score, job.request_id, result.score)

    async def _judge(
        self,
        upstream: Upstream,
        headers: list[Header],
        job: ShadowJob,
        routed_text: str,
        baseline_text: str,
        comparisons: list[Comparison],
        verdicts: list[Any],
        spend: _Spend,
    ) -> str | None:
        """Ask the judge each comparison in turn; the error that stopped it, if any."""
        cap = self.config.max_answer_chars
        request = job.routed.request
        task = "" if request is None else request.text
        for comparison in comparisons:
            first, second = comparison.answers(routed_text[:cap], baseline_text[:cap])
            body = judge_body(
                model=self.judge_model,
                prompt=self.config.judge_prompt,
                max_tokens=self.config.judge_max_tokens,
                task=task[:cap],
                first=first,
                second=second,
            )
            try:
                reply = await self._call(upstream, headers, body, self.judge_model, spend)
                text = render(reply.get("content")) or ""
                verdicts.append(comparison.verdict(read_preference(text)))
            except (UpstreamError, ValueError) as exc:
                return f"judge_error: {exc}"[:500]
        return None

    async def _call(
        self,
        upstream: Upstream,
        headers: list[Header],
        body: dict[str, Any],
        model: str,
        spend: _Spend,
    ) -> dict[str, Any]:
        """One Messages call; its usage and cost join ``spend``. ``ValueError``: no JSON."""
        response = await upstream.send("POST", MESSAGES_PATH, headers=headers, content=encode(body))
        message = json.loads(response.body or b"")
        if not isinstance(message, dict):
            raise ValueError("the answer is not a JSON object")
        raw = message.get("usage")
        try:
            usage = Usage.from_api(raw) if isinstance(raw, dict) else None
        except InputError:  # counts the catalog cannot read: the call is not priced
            usage = None
        cost = price(usage, model, body)
        spend.add(usage, None if cost is None else cost.total_micro_usd)
        return message

    async def _score(self, request_id: str, score: float) -> None:
        try:
            found = await anyio.to_thread.run_sync(
                self.ledger.score, request_id, score, self._record_wait, abandon_on_cancel=True
            )
        except StoreError as exc:
            _log.warning("cannot set the quality score of %s: %s", request_id, exc)
            found = False
        if found:
            self.stats.scored += 1
        else:
            self.stats.unmatched += 1

    def _headers(self, capture: Capture) -> list[Header]:
        headers = [(b"content-type", b"application/json"), (b"x-api-key", self._key)]
        headers += capture.headers
        if not any(name == b"anthropic-version" for name, _ in headers):
            headers.append((b"anthropic-version", DEFAULT_VERSION))
        return headers
