"""Safe model switches: when routing changes the model, adjust only what the target rejects.

The request body is the caller's. A field is changed only when the model routing switched to
would answer it with a 400, and only in the way the API's own docs recommend; every change is
reported, and a request whose model did not change is never touched. Unknown fields pass through.

What each model family accepts (✓) or answers with a 400 (✗). Columns: an assistant prefill;
a forced ``tool_choice`` (``any`` / ``tool``); ``thinking.type`` ``adaptive``, ``enabled`` (manual
``budget_tokens``), ``disabled`` and ``between_tools``; non-default ``temperature`` / ``top_p`` /
``top_k`` under API version 2023-06-01.

| family                 | prefill | forced | adaptive | enabled | disabled | between | sampling |
|------------------------|---------|--------|----------|---------|----------|---------|----------|
| Fable/Mythos 5.1, 5.2  | ✗       | ✗      | ✓        | ✗       | ✗        | ✗       | ✗        |
| Fable/Mythos 5         | ✗       | ✓      | ✓        | ✗       | ✗        | ✗       | ✗        |
| Mythos Preview         | ✗ (1)   | ✓      | ✓        | ✓       | ✓        | ✗       | ✗        |
| Opus 5.5               | ✗       | ✗      | ✓        | ✗       | ✗        | ✗       | ✗        |
| Opus 5                 | ✗       | ✓      | ✓        | ✗       | (5)      | ✗       | ✗        |
| Opus 4.7, 4.8          | ✗       | ✓      | ✓        | ✗       | ✓        | ✗       | ✗        |
| Opus 4.6, Sonnet 4.6   | ✗       | ✓      | ✓        | ✓ (2)   | ✓        | ✗       | ✓        |
| Sonnet 5.5             | ✗       | ✗      | ✓        | ✗       | ✗ (3)    | ✓ (4)   | ✗        |
| Sonnet 5               | ✗       | ✓      | ✓        | ✗       | ✓        | ✗       | ✗        |
| Haiku 5.5              | ✗       | ✓      | ✓        | ✗       | (5)      | ✗       | ✗        |
| Claude 4.5 and earlier | ✓       | ✓      | ✗        | ✓       | ✓        | ✗       | ✓        |

(1) not documented; assumed, as it shipped after prefill was removed in 4.6. (2) deprecated.
(3) ``between_tools`` is the documented replacement. (4) at effort high or below.
(5) ✓ at effort high or below, ✗ at ``xhigh`` and ``max``.
"Claude 4.5 and earlier" is Haiku / Sonnet / Opus 4.5, Sonnet / Opus 4 and Haiku 3.5.

How a field the target rejects is adjusted, only when the model changes:

* ``tool_choice`` ``any`` / ``tool`` becomes ``{"type": "auto"}`` (``disable_parallel_tool_use``
  kept): the model may still call the tool; it is no longer forced to.
* ``thinking`` ``enabled`` becomes ``{"type": "adaptive"}`` (other keys such as ``display``
  kept, ``budget_tokens`` dropped): depth is ``output_config.effort``'s job on those models.
* ``thinking`` ``disabled`` becomes ``between_tools`` where that is the documented equivalent
  (Sonnet 5.5, effort high or below); elsewhere it is dropped and the model's default applies.
* ``thinking`` ``between_tools`` becomes ``disabled`` where that is accepted, else is dropped.
* ``thinking`` ``adaptive`` is dropped on models with manual thinking only (4.5 and earlier).
* ``temperature``, ``top_p``, ``top_k`` are dropped when the request's ``anthropic-version`` is
  2026-10-21 or later (that version removed them: 400 on every model), or when the target
  rejects non-default sampling values (Opus 4.7 on, every 5.x model).
* ``max_tokens`` above the target's ``max_output`` (catalog) is clamped to it.
* An assistant prefill is **never rewritten**: ``dispatch`` does not switch a prefilled request
  to a model without prefill support, and a fallback to such a model is reported.

Sources: API reference notes §2.2 and §3 (``shared/reference/anthropic-api.md``), and the
official "What's new" / migration pages for Opus 5.5, Sonnet 5.5 and Haiku 5.5, "Troubleshooting
thinking" (per-model thinking support) and "What's new in Claude 4.6" (prefill removed from 4.6
on). Models missing from the table (a future id, a custom catalog entry) are assumed to
accept everything: tierwise adjusts only what it knows is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tierwise.core.catalog import Catalog, ModelSpec, default_catalog
from tierwise.core.errors import UnknownModelError

SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
SAMPLING_REMOVED_IN = "2026-10-21"  # the API version that removed them (400 on every model)
_HIGH_EFFORTS = frozenset({"xhigh", "max"})
_FORCED_TOOL_CHOICES = frozenset({"any", "tool"})

ThinkingOff = Literal["accepted", "rejected", "effort<=high"]


@dataclass(frozen=True, slots=True)
class ModelRules:
    """What one family of models accepts (``True``) or answers with a 400 (``False``)."""

    family: str
    models: tuple[str, ...]  # catalog ids (dated aliases resolve to these)
    prefill: bool  # a last message from the assistant, continued by the model
    forced_tool_choice: bool  # tool_choice {"type": "any"} or {"type": "tool", "name": ...}
    manual_thinking: bool  # thinking {"type": "enabled", "budget_tokens": N}
    adaptive_thinking: bool  # thinking {"type": "adaptive"}
    thinking_off: ThinkingOff  # thinking {"type": "disabled"}
    between_tools: bool  # thinking {"type": "between_tools"} (at effort high or below)
    sampling: bool  # non-default temperature / top_p / top_k under API version 2023-06-01


RULES: tuple[ModelRules, ...] = (
    ModelRules(
        "Fable/Mythos 5.1, 5.2",
        ("claude-fable-5-2", "claude-mythos-5-2", "claude-fable-5-1", "claude-mythos-5-1"),
        prefill=False,
        forced_tool_choice=False,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="rejected",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Fable/Mythos 5",
        ("claude-fable-5", "claude-mythos-5"),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="rejected",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Mythos Preview",
        ("claude-mythos-preview",),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=True,
        adaptive_thinking=True,
        thinking_off="accepted",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Opus 5.5",
        ("claude-opus-5-5",),
        prefill=False,
        forced_tool_choice=False,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="rejected",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Opus 5",
        ("claude-opus-5",),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="effort<=high",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Opus 4.7, 4.8",
        ("claude-opus-4-8", "claude-opus-4-7"),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="accepted",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Opus 4.6, Sonnet 4.6",
        ("claude-opus-4-6", "claude-sonnet-4-6"),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=True,
        adaptive_thinking=True,
        thinking_off="accepted",
        between_tools=False,
        sampling=True,
    ),
    ModelRules(
        "Sonnet 5.5",
        ("claude-sonnet-5-5",),
        prefill=False,
        forced_tool_choice=False,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="rejected",
        between_tools=True,
        sampling=False,
    ),
    ModelRules(
        "Sonnet 5",
        ("claude-sonnet-5",),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="accepted",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Haiku 5.5",
        ("claude-haiku-5-5",),
        prefill=False,
        forced_tool_choice=True,
        manual_thinking=False,
        adaptive_thinking=True,
        thinking_off="effort<=high",
        between_tools=False,
        sampling=False,
    ),
    ModelRules(
        "Claude 4.5 and earlier",
        (
            "claude-haiku-4-5",
            "claude-sonnet-4-5",
            "claude-opus-4-5",
            "claude-sonnet-4-20250514",
            "claude-opus-4-20250514",
            "claude-3-5-haiku-20241022",
        ),
        prefill=True,
        forced_tool_choice=True,
        manual_thinking=True,
        adaptive_thinking=False,
        thinking_off="accepted",
        between_tools=False,
        sampling=True,
    ),
)
_BY_ID: dict[str, ModelRules] = {model: rules for rules in RULES for model in rules.models}


@dataclass(frozen=True, slots=True)
class Sanitized:
    """A body made acceptable to a target model, and what was changed to get there."""

    body: dict[str, Any]
    adjustments: tuple[str, ...]


def rules_for(model: str, catalog: Catalog | None = None) -> ModelRules | None:
    """The table row for ``model`` (dated ids resolve via the catalog), or ``None`` if unknown."""
    rules = _BY_ID.get(model)
    if rules is not None:
        return rules
    try:
        return _BY_ID.get((catalog or default_catalog()).resolve_id(model))
    except UnknownModelError:
        return None


def has_prefill(body: Mapping[str, Any]) -> bool:
    """Whether the last message is the assistant's, for the model to continue."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    return isinstance(last, Mapping) and last.get("role") == "assistant"


def accepts_prefill(model: str, catalog: Catalog | None = None) -> bool:
    """Whether ``model`` continues an assistant prefill (unknown models are assumed to)."""
    rules = rules_for(model, catalog)
    return rules is None or rules.prefill


def sanitize_for(
    body: Mapping[str, Any],
    model: str,
    *,
    api_version: str | None = None,
    catalog: Catalog | None = None,
) -> Sanitized:
    """``body`` re-aimed at ``model``: a shallow copy with ``model`` set and only rejected fields
    adjusted (see the table above). The caller's mapping is never mutated.

    When ``body["model"]`` already is ``model`` nothing changes: a request that keeps its model
    is the caller's, even if that model would reject it. ``api_version`` is the request's
    ``anthropic-version`` header (``None``: unknown, sampling parameters are left alone).
    """
    out = dict(body)
    if body.get("model") == model:
        return Sanitized(out, ())
    out["model"] = model
    catalog = catalog or default_catalog()
    adjustments: list[str] = []
    rules = rules_for(model, catalog)
    if rules is not None:
        _tool_choice(out, model, rules, adjustments)
        _thinking(out, model, rules, adjustments)
    _sampling(out, model, rules, api_version, adjustments)
    _max_tokens(out, model, _spec(model, catalog), adjustments)
    return Sanitized(out, tuple(adjustments))


def _tool_choice(out: dict[str, Any], model: str, rules: ModelRules, notes: list[str]) -> None:
    choice = out.get("tool_choice")
    if rules.forced_tool_choice or not isinstance(choice, Mapping):
        return
    kind = choice.get("type")
    if kind not in _FORCED_TOOL_CHOICES:
        return
    relaxed: dict[str, Any] = {"type": "auto"}
    if "disable_parallel_tool_use" in choice:
        relaxed["disable_parallel_tool_use"] = choice["disable_parallel_tool_use"]
    out["tool_choice"] = relaxed
    notes.append(f"tool_choice {kind}->auto for {model} (forced tool use is rejected)")


def _thinking(out: dict[str, Any], model: str, rules: ModelRules, notes: list[str]) -> None:
    thinking = out.get("thinking")
    if not isinstance(thinking, Mapping):
        return
    kind = thinking.get("type")
    high_effort = _effort(out) in _HIGH_EFFORTS
    off_ok = rules.thinking_off == "accepted" or (
        rules.thinking_off == "effort<=high" and not high_effort
    )
    between_ok = rules.between_tools and not high_effort
    if kind == "enabled" and not rules.manual_thinking:
        adaptive = {k: v for k, v in thinking.items() if k != "budget_tokens"}
        adaptive["type"] = "adaptive"
        out["thinking"] = adaptive
        notes.append(f"thinking.type enabled->adaptive for {model} (manual budgets are rejected)")
    elif kind == "disabled" and not off_ok:
        if between_ok:
            out["thinking"] = {**thinking, "type": "between_tools"}
            notes.append(f"thinking.type disabled->between_tools for {model}")
        else:
            del out["thinking"]
            notes.append(f"thinking disabled dropped for {model} (thinking cannot be turned off)")
    elif kind == "adaptive" and not rules.adaptive_thinking:
        del out["thinking"]
        notes.append(f"thinking adaptive dropped for {model} (manual thinking only)")
    elif kind == "between_tools" and not between_ok:
        if off_ok:
            out["thinking"] = {**thinking, "type": "disabled"}
            notes.append(f"thinking.type between_tools->disabled for {model}")
        else:
            del out["thinking"]
            notes.append(f"thinking between_tools dropped for {model} (not accepted)")


def _sampling(
    out: dict[str, Any],
    model: str,
    rules: ModelRules | None,
    api_version: str | None,
    notes: list[str],
) -> None:
    present = [name for name in SAMPLING_PARAMS if name in out]
    if not present:
        return
    if api_version is not None and api_version >= SAMPLING_REMOVED_IN:
        why = f"removed in API version {SAMPLING_REMOVED_IN}"
    elif rules is not None and not rules.sampling:
        why = f"{model} rejects non-default sampling parameters"
    else:
        return
    for name in present:
        del out[name]
    notes.append(f"{', '.join(present)} dropped ({why})")


def _max_tokens(out: dict[str, Any], model: str, spec: ModelSpec | None, notes: list[str]) -> None:
    max_tokens = out.get("max_tokens")
    if spec is None or not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return
    if max_tokens > spec.max_output:
        out["max_tokens"] = spec.max_output
        notes.append(f"max_tokens {max_tokens}->{spec.max_output} (the max output of {model})")


def _effort(body: Mapping[str, Any]) -> str | None:
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, Mapping) else None
    return effort if isinstance(effort, str) else None


def _spec(model: str, catalog: Catalog) -> ModelSpec | None:
    try:
        return catalog.get(model)
    except UnknownModelError:
        return None
