"""Structural signals beyond words: how the prompt is built says something about difficulty.

* a short question with no code attached is a concept question: Sonnet answers it well,
  whatever alarming topic it names; asking what a term means ("what is a deadlock?",
  "difference between authentication and authorization") is a definition Haiku gives well;
* a pasted stack trace means debugging real code: not a job for the cheapest tier,
  unless the ask is mechanical ("format this log");
* a task that names many files needs reasoning across them;
* a long, detailed problem statement (many words of prose, not pasted code or data, asking a
  question) is what people write when the problem is hard: constraints, symptoms, what they
  already tried; a long imperative spec is routine work described carefully, not hard work.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import SignalsConfig
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar
from tierwise.core.tiers import Tier


@dataclass(frozen=True)
class SignalsStrategy:
    """Floors and ceilings from the prompt's shape."""

    config: SignalsConfig
    name: str = "signals"
    only_decides: bool = False

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        config = self.config
        mechanical = so_far.task_type in config.mechanical_task_types

        def could_raise(floor: Tier) -> bool:  # skip scans that cannot change the decision
            return not mechanical and (so_far.tier is None or so_far.tier < floor)

        if could_raise(config.many_files_floor) and features.files_mentioned >= config.many_files:
            return Verdict(
                self.name,
                Action.FLOOR,
                f"names {features.files_mentioned} files: needs reasoning across them",
                tier=config.many_files_floor,
            )
        if features.instruction_words >= config.detailed_words:
            # A long question is a problem statement (symptoms, constraints, what was tried);
            # a long imperative text is usually a spec of routine work, however detailed.
            asks = features.question or "?" in features.instruction or "？" in features.instruction
            floor = config.detailed_question_floor if asks else config.detailed_floor
            if could_raise(floor):
                kind = "problem statement" if asks else "spec"
                return Verdict(
                    self.name,
                    Action.FLOOR,
                    f"a detailed {kind} ({features.instruction_words} words of prose)",
                    tier=floor,
                )
        if could_raise(config.stack_trace_floor) and features.stack_trace:
            return Verdict(
                self.name,
                Action.FLOOR,
                "a stack trace is pasted: debugging real code",
                tier=config.stack_trace_floor,
            )
        if (
            features.instruction_words <= config.definition_words
            and features.code_blocks == 0
            and any(marker in features.lead for marker in config.definition_markers)
        ):
            return Verdict(
                self.name,
                Action.CEILING,
                "asks what a term means, briefly: a definition, not a problem to solve",
                tier=config.definition_ceiling,
            )
        raised = so_far.floor is not None and so_far.floor > config.short_question_ceiling
        if (
            not raised  # a risk or a hard object was recognised: not a concept question
            and features.question
            and features.instruction_words <= config.short_question_words
            and features.code_blocks == 0
            and features.files_mentioned == 0  # a question about a named file is not a concept
            and features.lines <= 3
        ):
            return Verdict(
                self.name,
                Action.CEILING,
                f"a short question ({features.instruction_words} words) with no code attached",
                tier=config.short_question_ceiling,
            )
        return Verdict(self.name, Action.PASS, "no structural signal")
