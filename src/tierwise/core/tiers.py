"""The tier ladder: haiku < sonnet < opus < fable < mythos.

Tiers are the API's own model lines (``ModelInfo.line``). Their order is what routing means by
"up" and "down"; which concrete model serves a tier is the policy's choice, not a constant here.
"""

from __future__ import annotations

from enum import StrEnum

from tierwise.core.errors import UnknownTierError


class Tier(StrEnum):
    """A model line, ordered by capability (and price)."""

    HAIKU = "haiku"
    SONNET = "sonnet"
    OPUS = "opus"
    FABLE = "fable"
    MYTHOS = "mythos"

    @property
    def rank(self) -> int:
        """Position on the ladder, 0 for the cheapest."""
        return _RANK[self]

    @classmethod
    def parse(cls, name: str) -> Tier:
        """The tier called ``name`` (any case); ``UnknownTierError`` lists the known ones."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise UnknownTierError(f"unknown tier {name!r}; known tiers: {known}") from None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank >= other.rank


_RANK: dict[Tier, int] = {tier: index for index, tier in enumerate(Tier)}
