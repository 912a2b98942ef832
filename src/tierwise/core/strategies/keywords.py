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
under-routing costs more than it saves. A rule whose phrases appear only after the first line
of the instruction votes with ``body_weight`` of its weight: the ask is usually in the first
line, and what follows is often material ("alphabetize this list: - A03 Injection ...").
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures, split_words
from tierwise.core.policy_schema import KeywordsConfig, Route
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar

_NO_SPACE_SCRIPT = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)


@dataclass(frozen=True, slots=True)
class Needle:
    """One phrase of one rule, compiled into what is searched for."""

    rule: int
    phrase: str  # as written in the policy, shown in traces
    text: str  # padded words, a padded prefix, or a raw substring; "" for a regex
    pattern: re.Pattern[str] | None = None
    word: str | None = None  # a regex's leading literal word: no need to search without it

    def in_lead(self, features: PromptFeatures) -> bool:
        """Whether the phrase occurs in the instruction's first line (where the ask usually is)."""
        if self.pattern is not None:
            return self.pattern.search(features.lead) is not None
        if self.text.startswith(" "):
            return self.text in features.lead_normalized
        return self.text in features.lead


@dataclass
class PhraseMatcher:
    """All rules' phrases compiled for one pass over a prompt's features."""

    words: dict[str, list[Needle]] = field(default_factory=lambda: defaultdict(list))
    phrases: dict[str, list[Needle]] = field(default_factory=lambda: defaultdict(list))
    prefixes: dict[str, list[Needle]] = field(default_factory=lambda: defaultdict(list))
    substrings: list[Needle] = field(default_factory=list)
    patterns: list[Needle] = field(default_factory=list)

    @classmethod
    def compile(cls, phrases_by_rule: list[list[str]]) -> PhraseMatcher:
        """Sort each phrase into the cheapest way to find it."""
        matcher = cls()
        for rule, phrases in enumerate(phrases_by_rule):
            for phrase in phrases:
                if phrase.startswith("re:"):
                    pattern = _compile_pattern(phrase[3:])
                    matcher.patterns.append(
                        Needle(rule, phrase, "", pattern, _leading_word(pattern))
                    )
                elif _NO_SPACE_SCRIPT.search(phrase):
                    matcher.substrings.append(Needle(rule, phrase, phrase.lower()))
                elif phrase.endswith("*"):
                    prefix = " " + " ".join(split_words(phrase[:-1].lower()))
                    # Looked at only when some word starts with the same three letters.
                    matcher.prefixes[prefix[1:4]].append(Needle(rule, phrase, prefix))
                else:
                    words = split_words(phrase.lower())
                    needle = Needle(rule, phrase, " " + " ".join(words) + " ")
                    if len(words) == 1:
                        matcher.words[words[0]].append(needle)
                    else:
                        # Index a phrase by its longest word: "to yaml" is looked at only when
                        # "yaml" is present, not for every prompt containing "to".
                        matcher.phrases[max(words, key=len)].append(needle)
        return matcher

    def find(self, features: PromptFeatures) -> list[Needle]:
        """Every distinct phrase present in the instruction."""
        found: list[Needle] = []
        words = features.words
        for word in words & self.words.keys():
            found.extend(self.words[word])
        normalized = features.normalized
        for word in words & self.phrases.keys():
            found.extend(n for n in self.phrases[word] if n.text in normalized)
        for stem in {word[:3] for word in words} & self.prefixes.keys():
            found.extend(n for n in self.prefixes[stem] if n.text in normalized)
        if features.non_ascii:
            instruction = features.instruction
            found.extend(n for n in self.substrings if n.text in instruction)
        instruction = features.instruction
        found.extend(
            n
            for n in self.patterns
            if n.pattern and (n.word is None or n.word in words) and n.pattern.search(instruction)
        )
        return found


_LEADING_WORD = re.compile(r"\\b([a-z]+)(?: |\\b|\\s)")


def _leading_word(pattern: re.Pattern[str]) -> str | None:
    """The whole word a pattern must start with (``\\bturn (?:this|it) into`` → ``turn``), so a
    prompt without that word skips the regex; ``None`` when the pattern has no such word."""
    if pattern.flags & re.IGNORECASE:
        return None
    match = _LEADING_WORD.match(pattern.pattern)
    return match.group(1) if match else None


def _compile_pattern(pattern: str) -> re.Pattern[str]:
    """Patterns run on lower-cased text; one written with capitals is matched ignoring case
    (slower, so the shipped policy writes its patterns in lower case)."""
    has_capitals = any(ch.isupper() for ch in pattern)
    return re.compile(pattern, re.IGNORECASE if has_capitals else 0)


class KeywordStrategy:
    """Decides a task type from keyword votes, then its tier from the routing table."""

    name = "keywords"
    only_decides = True

    def __init__(
        self, config: KeywordsConfig, routes: dict[str, Route], matcher: PhraseMatcher | None = None
    ) -> None:
        """``matcher`` replaces the one compiled from the rules' phrases (replay passes one that
        answers from a record's keyword evidence); its needles' ``rule`` index ``config.rules``."""
        self._rules = config.rules
        self._routes = routes
        self._min_score = config.min_score
        self._repeat_bonus = config.repeat_bonus
        self._body_weight = config.body_weight
        self._max_extra = round(1 / config.repeat_bonus) if config.repeat_bonus else 0
        if matcher is None:
            matcher = PhraseMatcher.compile([rule.phrases for rule in config.rules])
        self._matcher = matcher

    def evaluate(self, request: RouteRequest, features: PromptFeatures, so_far: SoFar) -> Verdict:
        hits = self._matcher.find(features)
        if not hits:
            return Verdict(self.name, Action.PASS, "no keyword matched")
        needles_per_rule: dict[int, list[Needle]] = defaultdict(list)
        for needle in hits:
            needles_per_rule[needle.rule].append(needle)
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, list[str]] = defaultdict(list)
        for index, needles in needles_per_rule.items():
            rule = self._rules[index]
            extra = min(len(needles) - 1, self._max_extra)
            in_lead = features.lead_is_all or any(n.in_lead(features) for n in needles)
            place = 1.0 if in_lead else self._body_weight
            scores[rule.task_type] += rule.weight * (1 + self._repeat_bonus * extra) * place
            evidence[rule.task_type].extend(n.phrase for n in needles)
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
