"""The quality loop end to end on the recorded demo workload: record, review, replay, re-run.

1. ``tierwise serve`` in server-key mode (its own key, client keys for callers) with a policy
   that ``extends = "default"``, turns on escalation with a JSON check for one task type, and
   shadow evaluation (share 1.0, a judge model of its own, both orders on a share) records the
   demo workload, repeated, sent with the official SDK; the fake Anthropic API in front answers
   by content (below). Each repeat is a different caller (``metadata.user_id``), so conversation
   keys differ while the prompts, and so the routing, stay exactly the demo's.
2. Once the shadow worker has stored every evaluation and score, the proxy is stopped (the
   recorder flushes) and ``tierwise review --json -o proposal.toml`` proposes changes with
   their evidence.
3. ``tierwise replay --policy proposal.toml --json`` predicts the tier mix and cost.
4. The same traffic goes through a fresh proxy running ``proposal.toml`` on a fresh store;
   ``tierwise report --json`` gives its real cost, compared with replay's prediction.

The fake answers every model with a small JSON object naming the model (so answers differ in
length by model, as the model ids do) and plays three task types of the default routing table:

* ``boilerplate`` (Haiku): two Haiku answers in five are cut-off JSON, the escalation check
  fails them and the cascade climbs to Sonnet; review should propose an upgrade;
* ``format`` (Haiku): the judge prefers the baseline's (Opus) answer in four comparisons in
  five; review should propose an upgrade for low retention;
* ``implement`` (Sonnet): the judge finds the routed answer as good; each implement request is
  also sent once by a ``free`` user (ceiling Haiku), which gives Haiku evidence for it; review
  should propose a downgrade.

Every other comparison is a tie. Figures are computed from the commands' ``--json`` output.

    python benchmarks/quality_loop.py [--repeats 12] [--min-samples 30] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic

from tierwise.core.policy import Policy, load_policy
from tierwise.demo import load_workload
from tierwise.learned.pipeline import Router
from tierwise.ledger.store import Store
from tierwise.serving.shadow.ledger import Ledger
from tierwise.serving.threaded_server import BackgroundServer
from tierwise.testing import Behaviour, FakeConfig, Reply, Script, fake_anthropic_app, serve_process

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
JUDGE = "claude-haiku-4-5"  # a model id of its own: its calls are the judge's and nothing else
BASELINE = OPUS  # the baseline of model "auto": the top enabled tier
ESCALATES, WORSE, AS_GOOD = "boilerplate", "format", "implement"
SERVER_KEY_ENV, SERVER_KEY, CLIENT_KEY = "QUALITY_LOOP_KEY", "sk-ant-loop", "tw-loop-client"

POLICY = f"""\
extends = "default"

[escalation]
enabled = true

[escalation.validators]
{ESCALATES} = [{{ kind = "json" }}]

[shadow]
enabled = true
share = 1.0
judge_model = "{JUDGE}"
both_orders_share = 0.3
monthly_usd = 100.0
queue_size = 100000
"""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


# ------------------------------------------------------------------------------------------
# The fake upstream, answering by content
# ------------------------------------------------------------------------------------------


@dataclass
class Playbook:
    """What the fake answers: by model, by the task type of the prompt, and for the judge by
    which position holds the baseline's answer. Deterministic: counters, no randomness."""

    task_types: dict[str, str | None]  # prompt → task type, as the recording policy routes it
    calls: Counter[str] = field(default_factory=Counter)

    def behaviour(self, body: dict[str, Any]) -> Behaviour | None:
        model = body.get("model")
        text = _first_user_text(body)
        if not isinstance(model, str) or text is None:
            return None
        if model == JUDGE:
            return self._judge(text)
        answer = json.dumps({"model": model, "answer": " ".join(text.split()[:6])})
        escalates = model == HAIKU and self.task_types.get(text) == ESCALATES
        if escalates and self._count(ESCALATES) % 5 in (1, 3):  # two in five: cut off JSON
            answer = answer[:-1] + " "  # as long as a good answer: the same output tokens
        return Reply(answer)

    def _judge(self, prompt: str) -> Reply:
        task = prompt.split("Task:\n", 1)[-1].split("\n\n<answer_a>", 1)[0]
        a = prompt.split("<answer_a>", 1)[-1].split("</answer_a>", 1)[0]
        if self.task_types.get(task) == WORSE and self._count(WORSE) % 5 != 0:
            return Reply(json.dumps({"better": "A" if BASELINE in a else "B"}))
        return Reply(json.dumps({"better": "tie"}))

    def _count(self, key: str) -> int:
        self.calls[key] += 1
        return self.calls[key]


def _first_user_text(body: dict[str, Any]) -> str | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return None
    content = messages[0].get("content")
    if isinstance(content, list):
        content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content if isinstance(content, str) else None


class ByContent:
    """ASGI middleware over the fake API: reads each Messages body, queues the playbook's
    behaviour for that model, then hands the request on unchanged. Pushing and the fake's pop
    happen without an await between them, so concurrent calls cannot swap behaviours."""

    def __init__(self, app: App, script: Script, playbook: Playbook) -> None:
        self.app, self.script, self.playbook = app, script, playbook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/messages":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        behaviour = self.playbook.behaviour(body) if isinstance(body, dict) else None
        if behaviour is not None and isinstance(body, dict):
            self.script.push(behaviour, model=body["model"])
        pending = [{"type": "http.request", "body": raw, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


@contextmanager
def fake_upstream(playbook: Playbook) -> Iterator[tuple[str, FakeConfig]]:
    config = FakeConfig()
    app = ByContent(fake_anthropic_app(config), config.script, playbook)
    with BackgroundServer(app, name="the fake Anthropic API", lifespan="off", backlog=128) as srv:
        yield srv.url, config


# ------------------------------------------------------------------------------------------
# Traffic
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    prompt: str
    system: str
    user: str
    headers: dict[str, str]


def traffic(policy: Policy, repeats: int) -> tuple[list[Request], dict[str, str | None]]:
    """The demo workload ``repeats`` times, each time from another caller, plus every
    ``AS_GOOD`` request once more from a free-tier caller; and prompt → task type."""
    router = Router(policy)
    tasks = load_workload()
    kinds = {t.prompt: router.decide(t.route_request()).task_type for t in tasks}
    requests: list[Request] = []
    for round_ in range(repeats):
        for task in tasks:
            requests.append(Request(task.prompt, task.system, f"demo-user-{round_}", {}))
            if kinds[task.prompt] == AS_GOOD:
                free = {"x-tierwise-user-tier": "free"}
                requests.append(Request(task.prompt, task.system, f"free-user-{round_}", free))
    return requests, kinds


def send_all(url: str, requests: list[Request]) -> list[str]:
    """Every request through the proxy, one at a time; the model each response names."""
    served: list[str] = []
    with anthropic.Anthropic(base_url=url, api_key=CLIENT_KEY, max_retries=0) as client:
        for request in requests:
            kwargs: dict[str, Any] = {"system": request.system} if request.system else {}
            raw = client.messages.with_raw_response.create(
                model="auto",
                max_tokens=512,
                messages=[{"role": "user", "content": request.prompt}],
                metadata={"user_id": request.user},
                extra_headers=request.headers,
                **kwargs,
            )
            served.append(raw.headers["x-tierwise-model"])
    return served


# ------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------


def _show(command: list[str]) -> str:
    return shlex.join(["tierwise", *command[3:]])


@contextmanager
def serve(options: list[str], env: dict[str, str], log: list[str]) -> Iterator[str]:
    """``tierwise serve`` until ``/healthz`` answers; SIGINT at the end (the recorder flushes)."""
    with serve_process(*options, env=env) as served:
        log.append(_show(served.command))
        yield served.url
    if served.process.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(f"tierwise serve exited {served.process.returncode}:\n{served.stderr}")


def run_json(arguments: list[str], env: dict[str, str], log: list[str]) -> Any:
    """A ``tierwise`` command with ``--json``; its parsed output."""
    command = [sys.executable, "-m", "tierwise.cli", *arguments]
    log.append(_show(command))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{_show(command)} exited {done.returncode}:\n{done.stderr}")
    return json.loads(done.stdout)


def wait_for_shadow(db: str, expected: int, timeout: float) -> tuple[int, int]:
    """Until ``expected`` evaluations are stored and every judged one's score is on its
    record: (evaluations, scored records)."""
    deadline = time.monotonic() + timeout
    while True:
        with Store(db) as store:
            rows = Ledger(store).rows()
            judged = sum(row.quality_score is not None for row in rows)
            scored = sum(r.quality_score is not None for r in store.records())
        if (len(rows) >= expected and scored >= judged) or time.monotonic() > deadline:
            return len(rows), scored
        time.sleep(0.25)


# ------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------


def usd(value: object) -> Decimal:
    return Decimal(str(value))


def loop(work: Path, repeats: int, min_samples: int) -> dict[str, Any]:
    policy_path = work / "policy.toml"
    policy_path.write_text(POLICY, encoding="utf-8")
    keys = work / "client-keys"
    keys.write_text(f"demo: {CLIENT_KEY}\n", encoding="utf-8")
    recorded_db, rerun_db = str(work / "recorded.db"), str(work / "rerun.db")
    proposal = work / "proposal.toml"
    requests, kinds = traffic(load_policy(policy_path), repeats)
    env = {
        **os.environ,
        SERVER_KEY_ENV: SERVER_KEY,
        "PYTHONWARNINGS": "ignore",
        "TIERWISE_DATA_DIR": str(work / "data"),
    }
    log: list[str] = []
    common = ["--api-key-env", SERVER_KEY_ENV, "--client-keys-file", str(keys)]
    with fake_upstream(Playbook(kinds)) as (upstream, fake):
        started = time.monotonic()
        options = ["--upstream", upstream, "--policy", str(policy_path), "--db", recorded_db]
        with serve([*options, *common], env, log) as url:
            served = send_all(url, requests)
            sent = time.monotonic() - started
            candidates = sum(model != BASELINE for model in served)
            evaluations, scored = wait_for_shadow(recorded_db, candidates, timeout=300)
        recorded_s = time.monotonic() - started
        judge_calls = sum(1 for r in fake.log.messages() if r.model == JUDGE)
        review = run_json(
            ["review", "--db", recorded_db, "--since", "all", "--policy", str(policy_path),
             "--min-samples", str(min_samples), "-o", str(proposal), "--json"],
            env, log,
        )  # fmt: skip
        replay = run_json(
            ["replay", "--db", recorded_db, "--since", "all", "--policy", str(proposal),
             "--json"],
            env, log,
        )  # fmt: skip
        recorded = run_json(["report", "--db", recorded_db, "--since", "all", "--json"], env, log)
        options = ["--upstream", upstream, "--policy", str(proposal), "--db", rerun_db]
        with serve([*options, *common], env, log) as url:
            rerun_served = send_all(url, requests)
        rerun = run_json(["report", "--db", rerun_db, "--since", "all", "--json"], env, log)
    predicted = usd(replay["cost"]["after_usd"])
    real = usd(rerun["totals"]["cost_usd"])
    before = usd(replay["cost"]["before_usd"])
    return {
        "requests": len(requests),
        "repeats": repeats,
        "min_samples": min_samples,
        "seconds": {"send": round(sent, 2), "record_and_shadow": round(recorded_s, 2)},
        "commands": log,
        "served": dict(Counter(served)),
        "shadow": {
            "candidates": candidates,
            "evaluations": evaluations,
            "scored_records": scored,
            "judge_calls": judge_calls,
            "report": recorded["shadow"],
        },
        "recorded_cost_usd": recorded["totals"]["cost_usd"],
        "recorded_report": {
            "totals": recorded["totals"],
            "alerts": [alert for alert in recorded["alerts"] if alert["firing"]],
        },
        "review": review,
        "proposal_toml": proposal.read_text(encoding="utf-8"),
        "replay": replay,
        "rerun": {
            "served": dict(Counter(rerun_served)),
            "requests": rerun["totals"]["requests"],
            "cost_usd": rerun["totals"]["cost_usd"],
        },
        "figures": {
            "cost_before_usd": str(before),
            "predicted_cost_usd": str(predicted),
            "rerun_cost_usd": str(real),
            "predicted_change": float((predicted - before) / before),
            "real_change": float((real - before) / before),
            "relative_error": float((predicted - real) / real),
        },
    }


def describe(result: dict[str, Any]) -> None:
    """The figures a reader needs, as text."""
    print(f"demo workload x{result['repeats']} (+ free-tier {AS_GOOD} requests): "
          f"{result['requests']} requests; policy:\n{POLICY}")  # fmt: skip
    print("commands:")
    for command in result["commands"]:
        print(f"  $ {command}")
    shadow = result["shadow"]
    print(f"\nrecorded in {result['seconds']['record_and_shadow']} s (sending took "
          f"{result['seconds']['send']} s); served by {result['served']}")  # fmt: skip
    report = shadow["report"] or {}
    print(f"shadow: {shadow['evaluations']} evaluations of {shadow['candidates']} candidates, "
          f"{shadow['scored_records']} scores on records, {shadow['judge_calls']} judge calls; "
          f"both orders {report.get('both_orders')}, position disagreement "
          f"{report.get('position_disagreement_rate')}; shadow ${report.get('shadow_cost_usd')}"
          f" + judge ${report.get('judge_cost_usd')} (apart from the routed "
          f"${result['recorded_cost_usd']})")  # fmt: skip
    totals = result["recorded_report"]["totals"]
    firing = "; ".join(a["message"] for a in result["recorded_report"]["alerts"]) or "none"
    print(f"report: escalation rate {totals['escalation_rate']:.1%} ({totals['escalations']}), "
          f"fallbacks {totals['fallbacks']}, quality retention {totals['quality_retention']:.1%} "
          f"of {totals['quality_scored']} scored; alerts firing: {firing}")  # fmt: skip
    print("\nreview proposals:")
    for proposal in result["review"]["proposals"]:
        print(f"  {proposal['task_type']}: {proposal['direction']} {proposal['current_tier']} -> "
              f"{proposal['proposed_tier']} ({proposal['strength']})")  # fmt: skip
        for line in proposal["evidence"]:
            print(f"      {line}")
    replay = result["replay"]
    moves = ", ".join(f"{m['from']}->{m['to']} {m['requests']}" for m in replay["moves"])
    print(f"\nreplay: {replay['same_model']} requests keep their model, "
          f"{replay['changed_model']} move: {moves}")  # fmt: skip
    print(f"  tier mix before {replay['tiers_before']}, after {replay['tiers_after']}")
    quality = replay["quality"]
    print(f"  expected quality {quality['before']['value']:.1%} (n={quality['before']['n']}) -> "
          f"{quality['after']['value']:.1%} (n={quality['after']['n']}); "
          f"{quality['moved_without_evidence']} moved requests without evidence at their new "
          "tier")  # fmt: skip
    figures = result["figures"]
    print(f"  cost ${figures['cost_before_usd']} -> predicted ${figures['predicted_cost_usd']} "
          f"({figures['predicted_change']:+.2%})")  # fmt: skip
    print(f"re-run with the proposal: {result['rerun']['requests']} requests, served by "
          f"{result['rerun']['served']}, real cost ${figures['rerun_cost_usd']} "
          f"({figures['real_change']:+.2%} against the recorded routed cost)")  # fmt: skip
    print(f"replay's prediction vs the re-run: {figures['relative_error']:+.3%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=12, help="times the workload is sent")
    parser.add_argument("--min-samples", type=int, default=30, help="passed to tierwise review")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = loop(work, args.repeats, args.min_samples)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        describe(result)


if __name__ == "__main__":
    main()
