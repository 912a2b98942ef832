"""Escalation and the LLM classifier on the bundled demo workload, against the fake upstream.

Every request goes through the proxy (non-streaming, the official SDK as the client). Answers
must be JSON (``[escalation.validators] "*"`` adds a ``json`` check); one Haiku answer in
``--fail-every`` is broken, so those requests escalate. Four runs, same workload:

* plain: no classifier, no escalation (every answer served as is)
* escalation: the cascade on
* classifier: heuristic-first classifier (its own model id on the fake, answering after
  ``--classifier-delay`` seconds) plus the cascade
* classifier always: the same, asked for every request (it answers STANDARD to all)
* classifier timeout: the classifier's model answers after 2 s, its timeout is ``--timeout``

It prints the escalation rate, cost against all-Opus with and without escalation, and the
classifier's added latency (p50/p99 of its call, measured in the proxy) and its share of cost.

    python benchmarks/bench_escalation.py [--fail-every 3] [--classifier-delay 0.05]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic

from tierwise.core.policy import load_policy
from tierwise.demo import load_workload
from tierwise.learned.pipeline import Router
from tierwise.ledger.outcome import Outcome
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import UpstreamConfig
from tierwise.testing import FakeAnthropicServer, Reply

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
CLASSIFIER_MODEL = "claude-haiku-4-5"  # its own id, so the fake can delay it alone
VALID, BROKEN = '{"ok": true, "answer": "done"}', '{"ok": true, "answer": "do'


@dataclass
class Run:
    name: str
    outcomes: list[Outcome]

    def total(self) -> Decimal:
        return sum((o.total_cost or Decimal(0) for o in self.outcomes), Decimal(0))

    def baseline(self) -> Decimal:
        return sum((o.baseline_cost.total for o in self.outcomes if o.baseline_cost), Decimal(0))

    def routing(self) -> Decimal:
        return sum((o.routing_cost for o in self.outcomes), Decimal(0))

    def escalation_rate(self) -> float:
        return sum(o.escalated for o in self.outcomes) / len(self.outcomes)

    def classifier_ms(self) -> list[float]:
        return sorted(
            c.latency * 1000
            for o in self.outcomes
            for c in o.routing_calls
            if c.purpose == "classifier"
        )


def policy_text(*, escalation: bool, classifier: bool, timeout: float, mode: str = "unsure") -> str:
    text = 'extends = "default"\n'
    if escalation:
        text += (
            '[escalation]\nenabled = true\n[escalation.validators]\n"*" = [{ kind = "non_empty" },'
            ' { kind = "stop_reason" }, { kind = "json" }]\n'
        )
    if classifier:
        text += (
            f'[classifier]\nenabled = true\nmodel = "{CLASSIFIER_MODEL}"\ntimeout = {timeout}\n'
            f'mode = "{mode}"\n'
        )
    return text


def run(
    fake: FakeAnthropicServer, name: str, policy_toml: str, fail_every: int, delay: float
) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.toml"
        path.write_text(policy_toml, encoding="utf-8")
        policy = load_policy(path)
    outcomes: list[Outcome] = []
    settings = ProxySettings(upstream=UpstreamConfig(base_url=fake.url))
    app = create_app(MessagesRouter(Router(policy)), settings, on_outcome=outcomes.append)
    with (
        ProxyServer(app) as proxy,
        anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0) as client,
    ):
        for index, task in enumerate(load_workload()):
            fake.script.clear()
            for model in (HAIKU, SONNET, OPUS):
                fake.script.set_default(Reply(VALID), model=model)
            fake.script.set_default(Reply("STANDARD", latency=delay), model=CLASSIFIER_MODEL)
            if index % fail_every == 0:
                fake.script.push(Reply(BROKEN), model=HAIKU)
            kwargs: dict[str, Any] = {"system": task.system} if task.system else {}
            client.messages.create(
                model="auto",
                max_tokens=512,
                messages=[{"role": "user", "content": task.prompt}],
                **kwargs,
            )
            expected = index + 1
            while len(outcomes) < expected:  # the hook runs just after the response
                pass
    return Run(name, outcomes)


def pct(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fail-every", type=int, default=3)
    parser.add_argument("--classifier-delay", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=0.25)
    args = parser.parse_args()
    with FakeAnthropicServer() as fake:
        runs = [
            run(
                fake, "plain", policy_text(escalation=False, classifier=False, timeout=1), 10**9, 0
            ),
            run(
                fake,
                "escalation",
                policy_text(escalation=True, classifier=False, timeout=1),
                args.fail_every,
                0,
            ),
            run(
                fake,
                "classifier",
                policy_text(escalation=True, classifier=True, timeout=1),
                args.fail_every,
                args.classifier_delay,
            ),
            run(
                fake,
                "classifier always",
                policy_text(escalation=True, classifier=True, timeout=1, mode="always"),
                args.fail_every,
                args.classifier_delay,
            ),
            run(
                fake,
                "classifier timeout",
                policy_text(escalation=True, classifier=True, timeout=args.timeout, mode="always"),
                args.fail_every,
                2.0,
            ),
        ]
    print(f"workload: {len(runs[0].outcomes)} requests; 1 Haiku answer in {args.fail_every} broken")
    for r in runs:
        total, base = r.total(), r.baseline()
        line = (
            f"{r.name:>18}: escalated {r.escalation_rate():5.1%}  cost ${total:.6f} vs all-Opus "
            f"${base:.6f} ({1 - total / base:.1%} saved)"
        )
        ms = r.classifier_ms()
        if ms:
            share = r.routing() / total if total else Decimal(0)
            line += (
                f"; classifier called {len(ms)}x, added p50 {pct(ms, 0.5):.1f} ms / "
                f"p99 {pct(ms, 0.99):.1f} ms, {share:.2%} of cost"
            )
        print(line)


if __name__ == "__main__":
    main()
