"""Orchestrator-worker: a strong model plans, the policy routes each subtask, one synthesis.

The plan comes from the orchestrator tier (Opus by default) as JSON; an invalid plan is asked
for again (``orchestrator.plan_retries``) with the error. Subtasks run in dependency rounds,
each round concurrently within ``orchestrator.concurrency``, through ``tierwise.AsyncAnthropic``
with ``model="auto"`` — so the classifier and the cascade apply to them. A failed subtask is
reported, and the subtasks that need it are skipped; the synthesis uses what succeeded.
The result carries each step's cost and the all-Opus counterfactual: the same answers' usage
priced on the orchestrator's model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio

from tierwise.core.policy import Policy
from tierwise.core.usage import Usage
from tierwise.ledger.outcome import price
from tierwise.orchestration.plan import PLAN_PROMPT, Plan, PlanError, Subtask, parse_plan

if TYPE_CHECKING:
    from tierwise.client import AsyncAnthropic

SYNTHESIS_PROMPT = (
    "Combine the results of the subtasks into one answer to the original task. "
    "Say plainly if a subtask failed."
)


@dataclass(frozen=True, slots=True)
class Step:
    """One model call of the orchestration and what it cost."""

    name: str  # "plan", "plan retry", a subtask id, "synthesis"
    model: str | None
    cost: Decimal = Decimal(0)  # everything spent (escalations, classifier, judges included)
    opus_cost: Decimal = Decimal(0)  # the answer's usage priced on the orchestrator's model
    text: str = ""
    error: str | None = None
    task: str = ""


@dataclass(frozen=True)
class Orchestration:
    """The plan, every step, the final answer, and the costs."""

    task: str
    plan: Plan | None
    steps: list[Step] = field(default_factory=list)
    answer: str = ""

    @property
    def subtasks(self) -> list[Step]:
        ids = {s.id for s in self.plan.subtasks} if self.plan else set()
        return [step for step in self.steps if step.name in ids]

    @property
    def failed(self) -> list[Step]:
        return [step for step in self.subtasks if step.error is not None]

    @property
    def cost(self) -> Decimal:
        return sum((step.cost for step in self.steps), Decimal(0))

    @property
    def all_opus_cost(self) -> Decimal:
        return sum((step.opus_cost for step in self.steps), Decimal(0))


def orchestrate(
    task: str, *, client: AsyncAnthropic | None = None, **options: Any
) -> Orchestration:
    """``aorchestrate`` for blocking callers (runs its own event loop)."""

    async def run() -> Orchestration:
        return await aorchestrate(task, client=client, **options)

    return anyio.run(run)


async def aorchestrate(
    task: str,
    *,
    client: AsyncAnthropic | None = None,
    policy: Policy | None = None,
    **client_options: Any,
) -> Orchestration:
    """Plan ``task`` with the orchestrator model, run the subtasks, synthesise the answer.

    ``client`` is a ``tierwise.AsyncAnthropic`` (one is made from ``policy`` and
    ``client_options``, e.g. ``base_url`` and ``api_key``, when not given).
    """
    if not task.strip():
        raise PlanError("task: the task is empty: there is nothing to orchestrate")
    from tierwise.client import AsyncAnthropic

    if client is None:
        async with AsyncAnthropic(policy=policy, **client_options) as owned:
            return await _run(task, owned)
    return await _run(task, client)


async def _run(task: str, client: AsyncAnthropic) -> Orchestration:
    policy = client.tierwise_router.policy
    config = policy.config.orchestrator
    boss = policy.config.tiers.model_for(config.tier)
    steps: list[Step] = []
    plan = await _plan(client, task, boss, config.max_subtasks, config, steps)
    if plan is None:
        return Orchestration(task, None, steps)
    results: dict[str, Step] = {}
    limiter = anyio.CapacityLimiter(config.concurrency)
    for wave in plan.waves():
        async with anyio.create_task_group() as group:
            for subtask in wave:
                group.start_soon(_subtask, client, subtask, results, limiter, boss, config)
        steps += [results[s.id] for s in wave]
    answer = ""
    done = [results[s.id] for s in plan.subtasks if results[s.id].error is None]
    if config.synthesize and done:
        text = "\n\n".join(f"[{s.name}] {s.task}\n{s.text}" for s in done)
        failed = [s.id for s in plan.subtasks if results[s.id].error is not None]
        note = f"\n\nFailed subtasks: {', '.join(failed)}" if failed else ""
        step = await _call(
            client, "synthesis", boss, config.worker_max_tokens,
            f"Task:\n{task}\n\nSubtask results:\n{text}{note}", SYNTHESIS_PROMPT, boss,
        )  # fmt: skip
        steps.append(step)
        answer = step.text
    elif len(done) == 1:
        answer = done[0].text
    return Orchestration(task, plan, steps, answer)


async def _plan(
    client: AsyncAnthropic, task: str, boss: str, limit: int, config: Any, steps: list[Step]
) -> Plan | None:
    prompt = PLAN_PROMPT.format(max_subtasks=limit)
    ask = f"Task:\n{task}"
    for attempt in range(config.plan_retries + 1):
        name = "plan" if attempt == 0 else "plan retry"
        step = await _call(client, name, boss, config.plan_max_tokens, ask, prompt, boss)
        if step.error is not None:
            steps.append(step)
            return None
        try:
            plan = parse_plan(step.text, limit)
        except PlanError as exc:
            steps.append(_with_error(step, str(exc)))
            ask = f"Task:\n{task}\n\nYour last plan was rejected ({exc}). Reply with JSON only."
            continue
        steps.append(step)
        return plan
    return None


async def _subtask(
    client: AsyncAnthropic,
    subtask: Subtask,
    results: dict[str, Step],
    limiter: anyio.CapacityLimiter,
    boss: str,
    config: Any,
) -> None:
    missing = [d for d in subtask.depends_on if results.get(d) is None or results[d].error]
    if missing:
        why = f"skipped: depends on failed {', '.join(missing)}"
        results[subtask.id] = Step(subtask.id, None, error=why, task=subtask.task)
        return
    context = "".join(f"\n\nResult of {d}:\n{results[d].text}" for d in subtask.depends_on)
    async with limiter:
        step = await _call(
            client, subtask.id, "auto", config.worker_max_tokens, subtask.task + context, None,
            boss,
        )  # fmt: skip
    results[subtask.id] = Step(
        step.name, step.model, step.cost, step.opus_cost, step.text, step.error, subtask.task
    )


async def _call(
    client: AsyncAnthropic,
    name: str,
    model: str,
    max_tokens: int,
    text: str,
    system: str | None,
    boss: str,
) -> Step:
    """One Messages call; its failure becomes the step's error, not an exception."""
    from tierwise.client import report_of

    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
    }
    if system:
        kwargs["system"] = system
    try:
        message = await client.messages.create(**kwargs)
    except Exception as exc:  # reported per step: one failed subtask must not sink the rest
        return Step(name, None, error=f"{type(exc).__name__}: {exc}"[:300])
    data: Mapping[str, Any] = message.model_dump(mode="json")
    usage = Usage.from_api(data.get("usage") or {})
    served = str(data.get("model"))
    spent = _priced(usage, served)
    report = report_of(message)
    if report is not None:
        spent = sum((a.cost.total for a in report.attempts if a.cost is not None), Decimal(0))
        spent += sum((c.cost.total for c in report.routing_calls if c.cost), Decimal(0))
    text_out = "".join(
        block.get("text", "") for block in data.get("content") or () if block.get("type") == "text"
    )
    return Step(name, served, spent, _priced(usage, boss), text_out)


def _priced(usage: Usage, model: str) -> Decimal:
    cost = price(usage, model)
    return cost.total if cost is not None else Decimal(0)


def _with_error(step: Step, error: str) -> Step:
    return Step(step.name, step.model, step.cost, step.opus_cost, step.text, error, step.task)


__all__ = ["Orchestration", "Step", "aorchestrate", "orchestrate"]
