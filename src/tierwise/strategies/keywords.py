"""Keyword rules: phrases in the instruction vote for a task type; the best-scoring type wins.

Matching is by whole words and phrases, case-insensitive ("information" never matches
"format", "country" never matches "try"); ``word*`` matches words starting with ``word``;
``re:`` starts a regular expression, matched against the lower-cased instruction; phrases in
scripts written without spaces (Chinese, Japanese) match as substrings. Only the instruction
is read, never the pasted payload.

A rule votes once with its weight; each further phrase of the same rule adds ``repeat_bonus``
of the weight, up to double (three generic "error"-type words are no stronger evidence than
one specific phrase). Votes for a task type add up, so a specific mechanical ask ("fix the
typo") can outweigh a topic word it mentions ("security"), and a hard topic ("monolith to
microservices") can outweigh a generic verb ("convert"). Ties go to the more capable tier:
under-routing costs more than it saves.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from tierwise.decision import Action, RouteRequest, Verdict
from tierwise.features import PromptFeatures, split_words
from tierwise.policy_schema import KeywordsConfig, Route
from tierwise.strategies.base import SoFar

_NO_SPACE_SCRIPT = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase of one rule found in the instruction."""

    rule: int
    phrase: str


@dataclass
class PhraseMatcher:
    """All rules' phrases compiled for one pass over a prompt's features."""

    words: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    phrases: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    prefixes: list[tuple[str, Hit]] = field(default_factory=list)
    substrings: list[tuple[str, Hit]] = field(default_factory=list)
    patterns: list[tuple[re.Pattern[str], Hit]] = field(default_factory=list)

    @classmethod
    def compile(cls, phrases_by_rule: list[list[str]]) -> PhraseMatcher:
        """Sort each phrase into the cheapest way to find it."""
        matcher = cls()
        for rule, phrases in enumerate(phrases_by_rule):
            for phrase in phrases:
                hit = Hit(rule, phrase)
                if phrase.startswith("re:"):
                    matcher.patterns.append((re.compile(phrase[3:]), hit))
                elif _NO_SPACE_SCRIPT.search(phrase):
                    matcher.substrings.append((phrase.lower(), hit))
                elif phrase.endswith("*"):
                    matcher.prefixes.append((" " + " ".join(split_words(phrase[:-1].lower())), hit))
                else:
                    words = split_words(phrase.lower())
                    if len(words) == 1:
                        matcher.words[words[0]].append(hit)
                    else:
                        # Index a phrase by its longest word: "to yaml" is looked at only when
                        # "yaml" is present, not for every prompt containing "to".
                        key = max(words, key=len)
                        matcher.phrases[key].append(Hit(rule, " " + " ".join(words) + " "))
        return matcher

    def find(self, features: PromptFeatures) -> list[Hit]:
        """Every distinct phrase present in the instruction."""
        found: list[Hit] = []
        for word in features.words.intersection(self.words):
            found.extend(self.words[word])
        normalized = features.normalized
        for word in features.words.intersection(self.phrases):
            found.extend(
                Hit(h.rule, h.phrase.strip()) for h in self.phrases[word] if h.phrase in normalized
            )
        found.extend(hit for prefix, hit in self.prefixes if prefix in normalized)
        if features.non_ascii:
            instruction = features.instruction
            found.extend(hit for text, hit in self.substrings if text in instruction)
        found.extend(hit for pattern, hit in self.patterns if pattern.search(features.instruction))
        return found


class KeywordStrategy:
    """Decides a task type from keyword votes, then its tier from the routing table."""

    name = "keywords"
    only_decides = True

    def __init__(self, config: KeywordsConfig, routes: dict[str, Route]) -> None:
        self._rules = config.rules
        self._routes = routes
        self._min_score = config.min_score
        self._repeat_bonus = config.repeat_bonus
        self._max_extra = round(1 / config.repeat_bonus) if config.repeat_bonus else 0
        self._matcher = PhraseMatcher.compile([rule.phrases for rule in config.rules])

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        hits = self._matcher.find(features)
        if not hits:
            return Verdict(self.name, Action.PASS, "no keyword matched")
        phrases_per_rule: dict[int, list[str]] = defaultdict(list)
        for hit in hits:
            phrases_per_rule[hit.rule].append(hit.phrase)
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, list[str]] = defaultdict(list)
        for index, phrases in phrases_per_rule.items():
            rule = self._rules[index]
            extra = min(len(phrases) - 1, self._max_extra)
            scores[rule.task_type] += rule.weight * (1 + self._repeat_bonus * extra)
            evidence[rule.task_type].extend(phrases)
        ranked = sorted(scores, key=lambda t: (scores[t], self._routes[t].tier.rank), reverse=True)
        best = ranked[0]
        if scores[best] < self._min_score:
            return Verdict(
                self.name,
                Action.PASS,
                f"keyword evidence too weak ({_votes(best, scores, evidence)})",
            )
        route = self._routes[best]
        runner_up = f"; next {_votes(ranked[1], scores, evidence)}" if len(ranked) > 1 else ""
        return Verdict(
            self.name,
            Action.DECIDE,
            f"reads as {_votes(best, scores, evidence)}{runner_up}",
            tier=route.tier,
            task_type=best,
            max_tokens=route.max_tokens,
        )


def _votes(task_type: str, scores: dict[str, float], evidence: dict[str, list[str]]) -> str:
    phrases = ", ".join(repr(p) for p in dict.fromkeys(evidence[task_type]))
    return f"{task_type} {scores[task_type]:g} [{phrases}]"
