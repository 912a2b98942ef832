"""The bundled demo workload: synthetic coding-assistant requests written for tierwise.

``workload.jsonl`` rows are ``{"id", "prompt", "system"?}``: formatting, extraction,
boilerplate, features, tests, reviews, hard bugs, designs, security reviews; a few in
German, Spanish, Chinese and Japanese; a few chat requests with a system prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from tierwise.core.request import RouteRequest


@dataclass(frozen=True)
class DemoTask:
    """One request of the demo workload."""

    id: str
    prompt: str
    system: str = ""

    def route_request(self) -> RouteRequest:
        """The task as the router sees it."""
        return RouteRequest(text=self.prompt, system=self.system)


def load_workload() -> list[DemoTask]:
    """The bundled workload, in file order."""
    text = resources.files("tierwise.demo").joinpath("workload.jsonl").read_text("utf-8")
    rows = (json.loads(line) for line in text.splitlines() if line.strip())
    return [DemoTask(row["id"], row["prompt"], row.get("system", "")) for row in rows]
