"""Keyword rules: phrase matching semantics and how votes become a task type.

Everything here uses small hand-written rules, not the shipped policy, so the tests pin the
matcher's semantics rather than the current tuning of the default keyword lists.
"""

from __future__ import annotations

import pytest

from tierwise.core.decision import Action, Verdict
from tierwise.core.features import PromptFeatures
from tierwise.core.policy_schema import KeywordRule, KeywordsConfig, Route
from tierwise.core.request import RouteRequest
from tierwise.core.strategies.base import SoFar
from tierwise.core.strategies.keywords import KeywordStrategy, PhraseMatcher
from tierwise.core.tiers import Tier


def features(text: str) -> PromptFeatures:
    return PromptFeatures.of(RouteRequest(text=text))


def found(phrases: list[str], text: str) -> set[str]:
    """The phrases (as configured, or normalised for multi-word ones) found in ``text``."""
    return {hit.phrase for hit in PhraseMatcher.compile([phrases]).find(features(text))}


def matches(phrase: str, text: str) -> bool:
    return bool(found([phrase], text))


def decide(
    text: str,
    rules: list[KeywordRule],
    routes: dict[str, Route],
    min_score: float = 1.0,
    repeat_bonus: float = 0.25,
) -> Verdict:
    config = KeywordsConfig(min_score=min_score, repeat_bonus=repeat_bonus, rules=rules)
    strategy = KeywordStrategy(config, routes)
    return strategy.evaluate(RouteRequest(text=text), features(text), SoFar())


ROUTES = {
    "format": Route(tier=Tier.HAIKU, max_tokens=4096),
    "implement": Route(tier=Tier.SONNET, max_tokens=16384),
    "security-review": Route(tier=Tier.OPUS, max_tokens=16384),
}


# ---------------------------------------------------------------- whole words


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("format", "Give me more information about this service"),
        ("format", "Reformatting is not what I want"),
        ("try", "Which country has the most data centres"),
        ("test", "Find the latest release notes"),
        ("auth", "Who is the author of this module"),
    ],
)
def test_a_word_does_not_match_inside_another_word(phrase: str, text: str) -> None:
    assert not matches(phrase, text)


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("format", "Format: two columns, left aligned"),
        ("format", "please FORMAT it"),
        ("format", "(format) the list"),
        ("try", "try again with a smaller batch"),
    ],
)
def test_a_word_matches_case_insensitively_next_to_punctuation(phrase: str, text: str) -> None:
    assert matches(phrase, text)


# ---------------------------------------------------------------- phrases


@pytest.mark.parametrize("phrase", ["pretty print", "pretty-print", "Pretty Print"])
@pytest.mark.parametrize("text", ["Pretty-print this dict", "please pretty print this dict"])
def test_hyphens_and_spaces_are_the_same_in_phrases(phrase: str, text: str) -> None:
    assert matches(phrase, text)


@pytest.mark.parametrize(
    "text",
    ["prettyprint this dict", "pretty much print the dict", "print it pretty", "pretty"],
)
def test_a_phrase_needs_its_words_adjacent_and_in_order(text: str) -> None:
    assert not matches("pretty print", text)


def test_a_phrase_matches_across_line_breaks_and_extra_spaces() -> None:
    assert matches("write tests", "Please write\n  tests for the parser")


# ---------------------------------------------------------------- prefixes, regexes, CJK


@pytest.mark.parametrize("text", ["Refactor it", "refactoring the module", "REFACTORED code"])
def test_a_star_matches_words_starting_with_the_prefix(text: str) -> None:
    assert matches("refactor*", text)


def test_a_star_does_not_match_inside_a_word() -> None:
    assert not matches("refactor*", "run the prerefactor hook")


def test_a_multi_word_prefix_matches_the_last_words_start() -> None:
    assert matches("race condition*", "I think there are race conditions here")
    assert not matches("race condition*", "a race with no condition")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Optimise this algorithm for speed", True),
        ("please OPTIMIZE THE ALGORITHM", True),
        ("optimise my algorithm", False),
    ],
)
def test_re_prefix_is_a_regex_and_the_prompts_case_does_not_matter(
    text: str, expected: bool
) -> None:
    assert matches("re:optimi[sz]e (the|this) algorithm", text) is expected


def test_a_regex_written_with_capitals_still_matches() -> None:
    # Matching is case-insensitive for every kind of phrase (KeywordRule's contract); a pattern
    # with a capital letter must not silently become a rule that can never match.
    assert matches("re:Optimi[sz]e THE Algorithm", "Optimise the algorithm")


def test_a_regex_reads_the_instruction_not_the_pasted_payload() -> None:
    text = 'Sort the keys:\n{"note": "optimise this algorithm"}\n'
    assert not matches("re:optimi[sz]e (the|this) algorithm", text)


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("格式化", "请把这个文件格式化一下"),
        ("整形", "このJSONを整形してください"),
        ("テストケース", "このクラスのテストケースを書いて"),
    ],
)
def test_cjk_phrases_match_as_substrings(phrase: str, text: str) -> None:
    assert matches(phrase, text)


def test_cjk_phrase_absent_from_the_text_does_not_match() -> None:
    assert not matches("格式化", "请解释这个函数")
    assert not matches("格式化", "please format this file")


def test_every_distinct_phrase_found_is_reported_once() -> None:
    phrases = ["format", "indent*", "pretty print"]
    assert found(phrases, "Format this, format that, indent it, pretty-print it") == {
        "format",
        "indent*",
        "pretty print",
    }


# ---------------------------------------------------------------- votes


def rule(task_type: str, weight: float, *phrases: str) -> KeywordRule:
    return KeywordRule(
        name=f"{task_type} {weight}", task_type=task_type, weight=weight, phrases=list(phrases)
    )


RULES = [
    rule("format", 1.0, "reformat"),
    rule("format", 1.0, "indent"),
    rule("security-review", 1.5, "security"),
    rule("implement", 2.0, "implement*"),
]


def test_no_phrase_found_passes() -> None:
    verdict = decide("Hello there", RULES, ROUTES)
    assert verdict.action is Action.PASS
    assert verdict.tier is None
    assert "no keyword" in verdict.reason


def test_one_matching_rule_decides_its_routes_tier_and_budget() -> None:
    verdict = decide("Implement the export button", RULES, ROUTES)
    assert verdict.action is Action.DECIDE
    assert verdict.strategy == "keywords"
    assert verdict.task_type == "implement"
    assert verdict.tier is Tier.SONNET
    assert verdict.max_tokens == 16384


def test_rules_for_the_same_task_type_add_up_and_the_best_task_type_wins() -> None:
    # format: 1 + 1 = 2 beats security-review: 1.5
    verdict = decide("Reformat and indent the security banner", RULES, ROUTES)
    assert verdict.task_type == "format"
    assert verdict.tier is Tier.HAIKU
    assert "format 2 " in verdict.reason


def test_a_heavier_single_phrase_beats_a_lighter_one() -> None:
    # format: 1 loses to security-review: 1.5
    verdict = decide("Reformat the security banner", RULES, ROUTES)
    assert verdict.task_type == "security-review"
    assert verdict.tier is Tier.OPUS


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("reformat it", "1"),
        ("reformat and indent it", "1.25"),
        ("reformat, indent and tidy it", "1.5"),
    ],
)
def test_each_further_phrase_of_one_rule_adds_the_repeat_bonus(text: str, score: str) -> None:
    rules = [rule("format", 1.0, "reformat", "indent", "tidy")]
    verdict = decide(text, rules, ROUTES, repeat_bonus=0.25)
    assert verdict.task_type == "format"
    assert f"format {score} " in verdict.reason


def test_the_repeat_bonus_is_capped_at_double_the_weight() -> None:
    rules = [rule("format", 1.0, "reformat", "indent", "tidy", "prettify", "align")]
    verdict = decide("reformat, indent, tidy, prettify and align it", rules, ROUTES, 0.5, 0.5)
    assert "format 2 " in verdict.reason


def test_without_a_repeat_bonus_a_rule_votes_once() -> None:
    rules = [
        rule("format", 1.0, "reformat", "indent", "tidy"),
        rule("security-review", 1.5, "security"),
    ]
    verdict = decide("reformat, indent and tidy the security page", rules, ROUTES, 1.0, 0.0)
    assert verdict.task_type == "security-review"
    assert "format 1 " in verdict.reason


@pytest.mark.parametrize("order", [1, -1])
def test_a_tie_goes_to_the_more_capable_tier(order: int) -> None:
    rules = [rule("format", 2.0, "reformat"), rule("security-review", 2.0, "audit")][::order]
    verdict = decide("Reformat the audit log", rules, ROUTES)
    assert verdict.task_type == "security-review"
    assert verdict.tier is Tier.OPUS


def test_evidence_below_min_score_passes_and_says_why() -> None:
    verdict = decide("Reformat it", RULES, ROUTES, min_score=1.5)
    assert verdict.action is Action.PASS
    assert verdict.tier is None
    assert "too weak" in verdict.reason
    assert "'reformat'" in verdict.reason


def test_evidence_exactly_at_min_score_decides() -> None:
    verdict = decide("Check the security", RULES, ROUTES, min_score=1.5)
    assert verdict.action is Action.DECIDE
    assert verdict.task_type == "security-review"


def test_reason_lists_the_matched_phrases_and_the_runner_up() -> None:
    verdict = decide("Reformat and indent the security banner", RULES, ROUTES)
    assert "format 2" in verdict.reason
    assert "'reformat'" in verdict.reason
    assert "'indent'" in verdict.reason
    assert "security-review 1.5" in verdict.reason
    assert "'security'" in verdict.reason
    assert "implement" not in verdict.reason
