"""The tier ladder: its order and how tier names are parsed."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tierwise.core.errors import InputError, UnknownTierError
from tierwise.core.tiers import Tier

LADDER = ["haiku", "sonnet", "opus", "fable", "mythos"]


def test_ladder_is_ordered_cheapest_first() -> None:
    assert [tier.value for tier in sorted(Tier, key=lambda t: t.rank)] == LADDER
    assert [Tier(name).rank for name in LADDER] == list(range(len(LADDER)))


@pytest.mark.parametrize(("lower", "higher"), list(pairwise(LADDER)))
def test_comparisons_follow_the_ladder(lower: str, higher: str) -> None:
    low, high = Tier(lower), Tier(higher)
    assert low < high
    assert low <= high
    assert high > low
    assert high >= low
    assert not high < low
    assert not low >= high


def test_comparison_is_by_rank_not_by_name() -> None:
    # Alphabetically "opus" < "sonnet"; on the ladder it is the other way round.
    assert Tier.SONNET < Tier.OPUS
    assert max(Tier.OPUS, Tier.SONNET, Tier.HAIKU) is Tier.OPUS
    assert sorted([Tier.OPUS, Tier.HAIKU, Tier.MYTHOS, Tier.SONNET]) == [
        Tier.HAIKU,
        Tier.SONNET,
        Tier.OPUS,
        Tier.MYTHOS,
    ]


def test_a_tier_is_level_with_itself_and_prints_as_its_name() -> None:
    assert Tier.OPUS <= Tier.OPUS
    assert Tier.OPUS >= Tier.OPUS
    assert not Tier.OPUS < Tier.OPUS
    assert str(Tier.OPUS) == "opus"
    assert f"{Tier.HAIKU}" == "haiku"


def test_ordering_against_a_non_tier_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Tier.HAIKU < 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("haiku", Tier.HAIKU),
        ("Sonnet", Tier.SONNET),
        ("OPUS", Tier.OPUS),
        ("  fable ", Tier.FABLE),
        ("MyThOs", Tier.MYTHOS),
    ],
)
def test_parse_ignores_case_and_surrounding_space(name: str, expected: Tier) -> None:
    assert Tier.parse(name) is expected


@pytest.mark.parametrize("name", ["gpt-4", "", "haiku3", "claude-opus-5-5"])
def test_parse_rejects_an_unknown_name_and_lists_the_known_tiers(name: str) -> None:
    with pytest.raises(UnknownTierError) as caught:
        Tier.parse(name)
    message = str(caught.value)
    assert repr(name) in message
    for known in LADDER:
        assert known in message


def test_unknown_tier_is_an_input_error() -> None:
    with pytest.raises(InputError):
        Tier.parse("platinum")
