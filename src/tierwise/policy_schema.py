"""The policy file's schema: what a policy may say, validated field by field at load time.

Everything routing does is decided here, as data: the tier ladder and its models, the routing
table, keyword rules, domains, user tiers, context-size rules and the order of strategies.
``policy.py`` loads a file into these models and turns validation errors into one clear line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierwise.tiers import Tier

StrategyName = Literal[
    "task_type", "domain", "keywords", "brevity", "signals", "user_tier", "context_size", "default"
]
PositiveInt = Annotated[int, Field(gt=0)]
DEFAULT_STRATEGIES: tuple[StrategyName, ...] = (
    "task_type",
    "domain",
    "keywords",
    "brevity",
    "signals",
    "user_tier",
    "context_size",
    "default",
)


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a policy must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TiersConfig(_Strict):
    """Which concrete model serves each tier, and which tiers routing may use."""

    haiku: str = "claude-haiku-5-5"
    sonnet: str = "claude-sonnet-5-5"
    opus: str = "claude-opus-5-5"
    fable: str = "claude-fable-5-2"
    mythos: str = "claude-mythos-5-2"
    enabled: list[Tier] = Field(default_factory=lambda: [Tier.HAIKU, Tier.SONNET, Tier.OPUS])
    default: Tier = Tier.SONNET
    max_tokens: dict[Tier, PositiveInt] = Field(
        default_factory=lambda: {Tier.HAIKU: 4096, Tier.SONNET: 8192, Tier.OPUS: 16384}
    )

    @field_validator("enabled")
    @classmethod
    def _non_empty(cls, value: list[Tier]) -> list[Tier]:
        if not value:
            raise ValueError("at least one tier must be enabled")
        return sorted(set(value))

    @model_validator(mode="after")
    def _default_enabled(self) -> TiersConfig:
        if self.default not in self.enabled:
            raise ValueError(f"default tier {self.default.value!r} is not enabled")
        return self

    def model_for(self, tier: Tier) -> str:
        """The model id configured for a tier."""
        model: str = getattr(self, tier.value)
        return model


class Route(_Strict):
    """One row of the routing table: a task type, its tier and its output budget."""

    tier: Tier
    max_tokens: PositiveInt | None = None
    description: str = ""


class KeywordRule(_Strict):
    """Phrases that suggest a task type. Whole words, case-insensitive; ``re:`` starts a regex.

    Every distinct phrase found in the instruction adds ``weight`` to the task type's score;
    the best-scoring task type wins. Phrases in scripts without spaces (Chinese, Japanese)
    match as substrings.
    """

    name: str
    task_type: str
    weight: float = Field(default=1.0, gt=0)
    phrases: list[str] = Field(min_length=1)

    @field_validator("phrases")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        for phrase in value:
            if not phrase.strip() or phrase.strip() == "re:":
                raise ValueError("phrases must not be blank")
        return value


class KeywordsConfig(_Strict):
    """Keyword rules, matched against the instruction (not the pasted code or data)."""

    min_score: float = Field(default=1.0, gt=0)
    # share of a rule's weight each extra phrase of the same rule adds (up to double)
    repeat_bonus: float = Field(default=0.25, ge=0, le=1)
    # share of a rule's weight when its phrases appear only after the instruction's first line
    body_weight: float = Field(default=0.5, ge=0, le=1)
    rules: list[KeywordRule] = Field(default_factory=list)


class UserTierRule(_Strict):
    """Bounds for a user tier: e.g. free users never above haiku, enterprise never below sonnet."""

    ceiling: Tier | None = None
    floor: Tier | None = None

    @model_validator(mode="after")
    def _ordered(self) -> UserTierRule:
        if self.ceiling is not None and self.floor is not None and self.floor > self.ceiling:
            raise ValueError("floor is above ceiling")
        return self


class ContextConfig(_Strict):
    """Context-size awareness: big prompts need deeper reading; no prompt may exceed a window."""

    deep_read_tokens: PositiveInt = 40_000
    deep_read_tier: Tier = Tier.OPUS
    deep_read_exempt: list[str] = Field(default_factory=list)
    large_read_tokens: PositiveInt = 12_000
    large_read_tier: Tier = Tier.SONNET


class SignalsConfig(_Strict):
    """Structural signals beyond words: questions, stack traces, files named, length."""

    short_question_words: PositiveInt = 25
    short_question_ceiling: Tier = Tier.SONNET
    definition_words: PositiveInt = 20
    definition_ceiling: Tier = Tier.HAIKU
    definition_markers: list[str] = Field(default_factory=list)  # matched in the lower-cased lead
    stack_trace_floor: Tier = Tier.SONNET
    many_files: PositiveInt = 5
    many_files_floor: Tier = Tier.OPUS
    detailed_words: PositiveInt = 50
    detailed_floor: Tier = Tier.OPUS
    mechanical_task_types: list[str] = Field(default_factory=list)


class ProxyConfig(_Strict):
    """How the proxy and the drop-in client treat requests that name a concrete model."""

    rewrite_concrete_models: bool = False  # rewrite mode: route even concrete ids, never upward
    allow_switch_pinned: bool = False  # let routing move a pinned conversation to another model
    fallbacks: dict[Tier, list[Tier]] = Field(
        default_factory=lambda: {
            Tier.HAIKU: [Tier.SONNET],
            Tier.SONNET: [Tier.OPUS],
            Tier.OPUS: [Tier.SONNET],
        }
    )


class BrevityConfig(_Strict):
    """Short requests with no other signal go to a cheap tier."""

    max_words: PositiveInt = 20
    max_words_with_code: int = Field(default=0, ge=0)
    tier: Tier = Tier.HAIKU


class LimitsConfig(_Strict):
    """Input limits; a request beyond them is refused with a clear error."""

    max_prompt_chars: PositiveInt = 8_000_000


class PolicyConfig(_Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    name: str = "custom"
    extends: Literal["default"] | None = None
    strategies: list[StrategyName] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES))
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    routes: dict[str, Route] = Field(default_factory=dict)
    keywords: KeywordsConfig = Field(default_factory=KeywordsConfig)
    domains: dict[str, Tier] = Field(default_factory=dict)
    user_tiers: dict[str, UserTierRule] = Field(default_factory=dict)
    context: ContextConfig = Field(default_factory=ContextConfig)
    signals: SignalsConfig = Field(default_factory=SignalsConfig)
    brevity: BrevityConfig = Field(default_factory=BrevityConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)
    aliases: list[str] = Field(default_factory=lambda: ["auto"])

    @model_validator(mode="after")
    def _references_resolve(self) -> PolicyConfig:
        for rule in self.keywords.rules:
            if rule.task_type not in self.routes:
                raise ValueError(
                    f"keywords rule {rule.name!r} names task type {rule.task_type!r}, "
                    "which has no route"
                )
        for field_name, names in (
            ("context.deep_read_exempt", self.context.deep_read_exempt),
            ("signals.mechanical_task_types", self.signals.mechanical_task_types),
        ):
            for name in names:
                if name not in self.routes:
                    raise ValueError(f"{field_name} names task type {name!r}, which has no route")
        if len(set(self.strategies)) != len(self.strategies):
            raise ValueError("strategies must not repeat")
        return self
