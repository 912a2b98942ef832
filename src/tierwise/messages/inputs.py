"""What a decision record keeps so that replay can re-decide the request without its text.

Routing reads three kinds of input. The caller's hints (task type, domain, user tier) and the
requested model have their own columns. The rest is captured here, as the ``routing_inputs``
column, once per request and off the request path (in the recorder's writer):

* the prompt's *features*, numbers and flags every local strategy reads: words of instruction,
  characters, lines, fenced code blocks, files named, a stack trace, question form, estimated
  tokens of the judged text and of the whole context;
* the *evidence* for the two strategies that read words: which of the recording policy's
  keyword phrases occur in the instruction (and whether in its first line), and which of its
  definition markers occur in the lead. ``vocabulary`` is a digest of every phrase and marker
  the recording policy looked for, so replay knows when a new policy looks for words nobody
  looked for;
* two facts of the body that dispatch reads: an assistant prefill, and cache breakpoints or
  signed thinking history (what pins a conversation to its model).

The prompt text is never part of it; only phrases the policy itself names are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tierwise.core.features import Payload, PromptFeatures
from tierwise.core.policy_schema import PolicyConfig
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.keywords import PhraseMatcher
from tierwise.messages.pinning import needs_pinning
from tierwise.messages.sanitize import has_prefill

__all__ = ["INPUTS_VERSION", "RecordedFeatures", "RoutingInputs", "Vocabulary"]

INPUTS_VERSION = 1


@dataclass(frozen=True)
class Vocabulary:
    """Every keyword phrase and definition marker a policy looks for, compiled once per policy."""

    phrases: frozenset[str]
    markers: frozenset[str]
    digest: str  # 16 hex digits naming this exact set of phrases and markers
    matcher: PhraseMatcher = field(repr=False, compare=False)

    @classmethod
    def of(cls, config: PolicyConfig) -> Vocabulary:
        phrases = sorted({phrase for rule in config.keywords.rules for phrase in rule.phrases})
        markers = sorted(set(config.signals.definition_markers))
        canonical = json.dumps([phrases, markers], ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
        return cls(frozenset(phrases), frozenset(markers), digest, PhraseMatcher.compile([phrases]))

    def evidence(self, features: PromptFeatures) -> tuple[dict[str, bool], tuple[str, ...]]:
        """The phrases found in the instruction (each: found in its first line?) and the
        definition markers found in the lead, exactly as the strategies look for them."""
        found = {n.phrase: n.in_lead(features) for n in self.matcher.find(features)}
        markers = tuple(sorted(m for m in self.markers if m in features.lead))
        return dict(sorted(found.items())), markers


@dataclass(frozen=True)
class RecordedFeatures(PromptFeatures):
    """``PromptFeatures`` rebuilt from a record: no text, the recorded numbers, and the keyword
    evidence in ``found`` (phrase → found in the instruction's first line). ``lead`` holds the
    recorded definition markers, one a line, so ``marker in lead`` answers as it did live (a
    marker contained in a found one was in the lead too)."""

    found: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoutingInputs:
    """The routing inputs of one request (see the module docstring)."""

    text: bool  # there was text to judge (False: attachments or tool results only)
    instruction_words: int = 0
    chars: int = 0
    lines: int = 0
    code_blocks: int = 0
    code_chars: int = 0
    question: bool = False
    non_ascii: bool = False
    prompt_tokens: int = 0
    context_tokens: int = 0
    files_mentioned: int = 0
    stack_trace: bool = False
    lead_is_all: bool = True
    phrases: Mapping[str, bool] = field(default_factory=dict)
    markers: tuple[str, ...] = ()
    vocabulary: str = ""
    prefill: bool = False
    pinning: bool = False  # cache breakpoints or signed thinking history

    @classmethod
    def capture(
        cls,
        request: RouteRequest,
        body: Mapping[str, Any],
        vocabulary: Vocabulary,
        features: PromptFeatures | None = None,
    ) -> RoutingInputs:
        """The inputs of one parsed request under the policy ``vocabulary`` came from. Runs
        the lazy whole-text scans (files named, stack trace) whether or not routing did."""
        return cls.of_parts(request, vocabulary, features, has_prefill(body), needs_pinning(body))

    @classmethod
    def of_parts(
        cls,
        request: RouteRequest,
        vocabulary: Vocabulary,
        features: PromptFeatures | None,
        prefill: bool,
        pinning: bool,
    ) -> RoutingInputs:
        """``capture`` once the body's two facts are known: what the proxy's writer process
        runs, on the few fields of the request that features are made of."""
        if not request.text.strip():
            return cls(text=False, vocabulary=vocabulary.digest, prefill=prefill, pinning=pinning)
        features = features if features is not None else PromptFeatures.of(request)
        phrases, markers = vocabulary.evidence(features)
        return cls(
            text=True,
            instruction_words=features.instruction_words,
            chars=features.chars,
            lines=features.lines,
            code_blocks=features.code_blocks,
            code_chars=features.code_chars,
            question=features.question,
            non_ascii=features.non_ascii,
            prompt_tokens=features.prompt_tokens,
            context_tokens=features.context_tokens,
            files_mentioned=features.files_mentioned,
            stack_trace=features.stack_trace,
            lead_is_all=features.lead_is_all,
            phrases=phrases,
            markers=markers,
            vocabulary=vocabulary.digest,
            prefill=prefill,
            pinning=pinning,
        )

    def as_json(self) -> dict[str, Any]:
        """The column's JSON object (``v`` is the format's version)."""
        return {
            "v": INPUTS_VERSION,
            "text": self.text,
            "words": self.instruction_words,
            "chars": self.chars,
            "lines": self.lines,
            "code_blocks": self.code_blocks,
            "code_chars": self.code_chars,
            "question": self.question,
            "non_ascii": self.non_ascii,
            "prompt_tokens": self.prompt_tokens,
            "context_tokens": self.context_tokens,
            "files": self.files_mentioned,
            "stack_trace": self.stack_trace,
            "lead_is_all": self.lead_is_all,
            "phrases": dict(self.phrases),
            "markers": list(self.markers),
            "vocabulary": self.vocabulary,
            "prefill": self.prefill,
            "pinning": self.pinning,
        }

    @classmethod
    def from_json(cls, data: Any) -> RoutingInputs | None:
        """The inputs a column value holds; ``None`` for no value or a format this version of
        tierwise does not read (replay then counts the record as without inputs)."""
        if not isinstance(data, Mapping) or data.get("v") != INPUTS_VERSION:
            return None
        try:
            phrases = data.get("phrases") or {}
            return cls(
                text=bool(data["text"]),
                instruction_words=int(data["words"]),
                chars=int(data["chars"]),
                lines=int(data["lines"]),
                code_blocks=int(data["code_blocks"]),
                code_chars=int(data["code_chars"]),
                question=bool(data["question"]),
                non_ascii=bool(data["non_ascii"]),
                prompt_tokens=int(data["prompt_tokens"]),
                context_tokens=int(data["context_tokens"]),
                files_mentioned=int(data["files"]),
                stack_trace=bool(data["stack_trace"]),
                lead_is_all=bool(data["lead_is_all"]),
                phrases={str(k): bool(v) for k, v in dict(phrases).items()},
                markers=tuple(str(m) for m in data.get("markers") or ()),
                vocabulary=str(data.get("vocabulary") or ""),
                prefill=bool(data.get("prefill")),
                pinning=bool(data.get("pinning")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def features(self, context_tokens: int | None = None) -> RecordedFeatures:
        """The features to decide with. ``context_tokens`` (the record's column) wins over the
        estimate kept here, as the request's own count wins live."""
        payload = Payload(text="", named_text="", code_blocks=self.code_blocks)
        # the lazy scans were run when recording: fill their cached values in
        object.__setattr__(payload, "files_named", self.files_mentioned)
        object.__setattr__(payload, "stack_trace", self.stack_trace)
        context = self.context_tokens if context_tokens is None else context_tokens
        return RecordedFeatures(
            instruction="",
            normalized="",
            words=frozenset(),
            lead="\n".join(self.markers),
            lead_normalized="",
            lead_is_all=self.lead_is_all,
            instruction_words=self.instruction_words,
            chars=self.chars,
            lines=self.lines,
            code_blocks=self.code_blocks,
            code_chars=self.code_chars,
            question=self.question,
            non_ascii=self.non_ascii,
            prompt_tokens=self.prompt_tokens,
            context_tokens=context,
            payload=payload,
            task_tokens=context,
            found=dict(self.phrases),
        )
