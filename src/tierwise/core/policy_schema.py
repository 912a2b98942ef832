"""The policy file's schema: what a policy may say, validated field by field at load time.

Everything routing does is decided here, as data: the tier ladder and its models, the routing
table, keyword rules, domains, user tiers, context-size rules and the order of strategies.
``policy.py`` loads a file into these models and turns validation errors into one clear line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierwise.core.action_config import ActionsConfig
from tierwise.core.budget_config import BudgetsConfig
from tierwise.core.tiers import Tier

StrategyName = Literal[
    "task_type",
    "background",
    "action",
    "domain",
    "keywords",
    "brevity",
    "signals",
    "user_tier",
    "context_size",
    "default",
    "learned",
]
PositiveInt = Annotated[int, Field(gt=0)]
DEFAULT_STRATEGIES: tuple[StrategyName, ...] = (
    "task_type",
    "background",
    "domain",
    "keywords",
    "action",
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
    # real counts (docs/token-counts.md): near a threshold or a window, ask the API's
    # /v1/messages/count_tokens (the proxy, when a key is available); far from all, never
    count_tokens: bool = False
    count_band: float = Field(default=0.25, gt=0, lt=1)  # ±share around each threshold
    count_timeout: float = Field(default=1.0, gt=0, le=30)  # seconds; late: use the estimate
    count_cache_size: int = Field(default=4096, ge=0)  # counts kept, keyed by a content hash
    # the offline estimate times this (``tierwise estimate-error`` suggests one)
    estimate_factor: float = Field(default=1.0, ge=0.2, le=5.0)


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
    detailed_floor: Tier = Tier.SONNET  # a long spec
    detailed_question_floor: Tier = Tier.OPUS  # a long problem statement that asks something
    mechanical_task_types: list[str] = Field(default_factory=list)


class ProxyConfig(_Strict):
    """How the proxy and the drop-in client treat requests that name a concrete model."""

    rewrite_concrete_models: bool = False  # rewrite mode: route even concrete ids, never upward
    allow_switch_pinned: bool = False  # let routing move a pinned conversation to another model
    connect_timeout: float = Field(5.0, gt=0)  # seconds to open a connection to the upstream
    # seconds of upstream silence allowed: before the status line and between stream chunks
    read_timeout: float = Field(600.0, gt=0)
    shutdown_grace: float = Field(10.0, gt=0)  # seconds in-flight requests get at SIGTERM/SIGINT
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


CLASSIFIER_PROMPT = (
    "You grade programming tasks for a model router. Reply with exactly one word:\n"
    "SIMPLE - mechanical work a small model does well (format, convert, extract, rename);\n"
    "STANDARD - ordinary engineering (implement, test, review, explain, debug);\n"
    "COMPLEX - deep reasoning (architecture, hard bugs, security audits, proofs).\n\n"
    "Task:\n{text}"
)
JUDGE_PROMPT = (
    "You check whether an answer does what the task asked. Reply with JSON only: "
    '{"verdict": "pass" or "fail", "confidence": a number from 0 to 1}.'
)
ValidatorKind = Literal[
    "non_empty", "stop_reason", "json", "json_schema", "regex", "tool_args", "callable", "judge"
]


class ClassifierConfig(_Strict):
    """The LLM classifier: a small model grades the task (SIMPLE / STANDARD / COMPLEX).

    ``mode = "unsure"`` (heuristic-first) asks it only when the local strategies are unsure:
    the tier was decided by one of ``unsure_strategies`` (by default the ``default`` fallback
    and the ``brevity`` guess). ``"always"`` asks it for every routed request unless the caller
    named a task type. Any failure (timeout, error, open circuit, unknown label) passes.
    """

    enabled: bool = False
    mode: Literal["unsure", "always"] = "unsure"
    unsure_strategies: list[str] = Field(default_factory=lambda: ["default", "brevity"])
    tier: Tier = Tier.HAIKU
    model: str | None = None  # a concrete model id instead of the tier's
    timeout: float = Field(default=1.0, gt=0, le=60)  # seconds, the whole call
    max_tokens: PositiveInt = 5
    max_chars: PositiveInt = 4000  # of the judged text sent (its head)
    prompt: str = CLASSIFIER_PROMPT
    labels: dict[str, Tier] = Field(
        default_factory=lambda: {
            "SIMPLE": Tier.HAIKU,
            "STANDARD": Tier.SONNET,
            "COMPLEX": Tier.OPUS,
        }
    )
    failures_to_open: PositiveInt = 3  # consecutive failures that open the circuit
    cooldown: float = Field(default=30.0, gt=0)  # seconds the circuit stays open
    cache_size: int = Field(default=1024, ge=0)  # answers kept, keyed by a hash of the text

    @field_validator("prompt")
    @classmethod
    def _has_text(cls, value: str) -> str:
        if "{text}" not in value:
            raise ValueError("the prompt must contain {text}, where the task goes")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, Tier]) -> dict[str, Tier]:
        if not value:
            raise ValueError("at least one label is needed")
        return {label.strip().upper(): tier for label, tier in value.items()}


class ValidatorSpec(_Strict):
    """One check on an answer; which options apply depends on ``kind``.

    ``stop_reason``: fails on ``stop_reasons``. ``json``: the text parses (a fenced block too).
    ``json_schema``: it also matches ``json_schema``. ``regex``: ``pattern`` is found (or, with
    ``must_match = false``, is not). ``tool_args``: every tool call's input matches its tool's
    ``input_schema``. ``callable``: the Python function registered under ``name`` with the
    library client. ``judge``: a cheap model's verdict, failing below ``threshold``.
    """

    kind: ValidatorKind
    stop_reasons: list[str] = Field(default_factory=lambda: ["max_tokens", "refusal"])
    json_schema: dict[str, Any] | None = None
    pattern: str | None = None
    must_match: bool = True
    name: str | None = None
    tier: Tier = Tier.HAIKU  # the judge's tier
    threshold: float = Field(default=0.7, ge=0, le=1)
    max_tokens: PositiveInt = 64  # the judge's answer

    @model_validator(mode="after")
    def _options(self) -> ValidatorSpec:
        if self.kind == "json_schema" and self.json_schema is None:
            raise ValueError("a json_schema validator needs json_schema")
        if self.kind == "regex":
            if self.pattern is None:
                raise ValueError("a regex validator needs pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        if self.kind == "callable" and not self.name:
            raise ValueError("a callable validator needs name")
        return self


class EscalationConfig(_Strict):
    """The cascade: try the decided tier, check the answer, climb the ladder on failure.

    ``validators`` maps task types to checks; ``"*"`` applies to every request and a task
    type's list adds to it. Streaming requests either buffer each attempt (``"buffer"``: the
    caller sees no byte until an answer passes) or are never escalated (``"no-escalation"``).
    """

    enabled: bool = False
    max_tier: Tier = Tier.OPUS
    stream: Literal["buffer", "no-escalation"] = "no-escalation"
    judge_prompt: str = JUDGE_PROMPT
    judge_timeout: float = Field(default=10.0, gt=0)  # seconds; a late judge passes the answer
    validators: dict[str, list[ValidatorSpec]] = Field(
        default_factory=lambda: {
            "*": [ValidatorSpec(kind="non_empty"), ValidatorSpec(kind="stop_reason")]
        }
    )


class OrchestratorConfig(_Strict):
    """Orchestrator-worker: a strong model plans, the policy routes each subtask."""

    tier: Tier = Tier.OPUS  # plans and synthesises
    max_subtasks: PositiveInt = 8
    concurrency: PositiveInt = 4
    plan_max_tokens: PositiveInt = 2048
    worker_max_tokens: PositiveInt = 4096
    synthesize: bool = True
    plan_retries: int = Field(default=1, ge=0, le=3)  # new plans asked for after invalid JSON


class LearnedConfig(_Strict):
    """The learned router (``tierwise train``): its file and one threshold per rung.

    A prompt goes to the cheapest tier whose rung score (the router's probability that a tier
    above it is needed) is below that tier's threshold; a tier without a threshold uses 0.5.
    ``tierwise calibrate`` picks thresholds for a target retention, top-tier share or budget.
    ``gate = "question"``: the router decides only prompts shaped like a self-contained
    question (multiple choice, or a prose question with numbers and no code) and passes on the
    rest, so a router trained on exam-style data leaves coding requests to the rules.
    """

    router: str | None = None  # path of the router JSON file
    gate: Literal["none", "question"] = "none"
    thresholds: dict[Tier, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)


SHADOW_JUDGE_PROMPT = (
    "You compare two answers to the same task. Judge which answer does the task better: "
    "correctness first, then completeness, then clarity. Ignore length and the order in which "
    'the answers are shown. Reply with JSON only: {"better": "A"} or {"better": "B"} or '
    '{"better": "tie"}.'
)
Share = Annotated[float, Field(ge=0, le=1)]


class ShadowConfig(_Strict):
    """Shadow evaluation: re-send a share of routed requests to the baseline model, off the
    request path, and let a cheap judge compare the two answers blind.

    ``share`` is the default share of routed requests sampled; ``shares`` overrides it per task
    type. ``daily_usd`` / ``monthly_usd`` bound what the shadow and judge calls spend (UTC day
    and calendar month, from the recorded spend); sampling stops once either is spent.
    ``both_orders_share`` of the comparisons ask the judge twice, positions swapped, to measure
    position bias.
    """

    enabled: bool = False
    share: Share = 0.05
    shares: dict[str, Share] = Field(default_factory=dict)
    judge_tier: Tier = Tier.HAIKU
    judge_model: str | None = None  # a concrete model id instead of the tier's
    judge_prompt: str = SHADOW_JUDGE_PROMPT
    judge_max_tokens: PositiveInt = 16
    daily_usd: Annotated[float, Field(ge=0)] | None = None
    monthly_usd: Annotated[float, Field(ge=0)] | None = 10.0
    both_orders_share: Share = 0.1
    queue_size: PositiveInt = 64  # jobs waiting; a full queue drops (and counts) new ones
    max_answer_chars: PositiveInt = 16_000  # of each answer shown to the judge (its head)


class PolicyConfig(_Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    name: str = "custom"
    extends: str | None = None  # "default", "composite" or another policy file (relative to it)
    strategies: list[StrategyName] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES))
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    routes: dict[str, Route] = Field(default_factory=dict)
    keywords: KeywordsConfig = Field(default_factory=KeywordsConfig)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    domains: dict[str, Tier] = Field(default_factory=dict)
    user_tiers: dict[str, UserTierRule] = Field(default_factory=dict)
    context: ContextConfig = Field(default_factory=ContextConfig)
    signals: SignalsConfig = Field(default_factory=SignalsConfig)
    brevity: BrevityConfig = Field(default_factory=BrevityConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    proxy: ProxyConfig = Field(default_factory=ProxyConfig)
    aliases: list[str] = Field(default_factory=lambda: ["auto"])
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    orchestrator: OrchestratorConfig = Field(default_factory=OrchestratorConfig)
    learned: LearnedConfig = Field(default_factory=LearnedConfig)
    shadow: ShadowConfig = Field(default_factory=ShadowConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)  # docs/budgets.md

    @model_validator(mode="after")
    def _references_resolve(self) -> PolicyConfig:
        for rule in self.keywords.rules:
            if rule.task_type not in self.routes:
                raise ValueError(
                    f"keywords rule {rule.name!r} names task type {rule.task_type!r}, "
                    "which has no route"
                )
        if self.actions.transforms and self.actions.transform_task_type not in self.routes:
            raise ValueError(
                f"actions.transform_task_type {self.actions.transform_task_type!r} has no route"
            )
        for field_name, names in (
            ("context.deep_read_exempt", self.context.deep_read_exempt),
            ("signals.mechanical_task_types", self.signals.mechanical_task_types),
        ):
            for name in names:
                if name not in self.routes:
                    raise ValueError(f"{field_name} names task type {name!r}, which has no route")
        for name in self.escalation.validators:
            if name != "*" and name not in self.routes:
                raise ValueError(
                    f"escalation.validators names task type {name!r}, which has no route"
                )
        for name in self.shadow.shares:
            if name not in self.routes:
                raise ValueError(f"shadow.shares names task type {name!r}, which has no route")
        if len(set(self.strategies)) != len(self.strategies):
            raise ValueError("strategies must not repeat")
        if "learned" in self.strategies and not self.learned.router:
            raise ValueError("the learned strategy needs learned.router (a router file)")
        return self
