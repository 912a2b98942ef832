"""Agent sessions: route per instruction, not per HTTP request, and switch only when it pays.

Claude Code sends ``x-claude-code-session-id`` on every request (and ``x-claude-code-agent-id``
on a subagent's: a subagent is its own session) and sets ``cache_control`` on every request, so
the plain pin rule (``pinning``) would keep a session on its first model forever. Here:

* a request whose latest user turn holds only ``tool_result`` blocks (and ``<system-reminder>``
  text) continues the current instruction: it stays on the model that issued the tool calls;
* a request with new human text is a new instruction, routed afresh. An upgrade is taken
  (quality first); any other change is taken only when it pays for the prompt-cache loss, priced
  from the session's own usage (``switch_costs``).

Without the headers there is no session here: other clients keep the conversation pins.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tierwise.core.catalog import Catalog
from tierwise.core.errors import UnknownModelError, UnknownPriceError
from tierwise.core.pricing import cost
from tierwise.core.usage import Usage
from tierwise.messages.expiring import ExpiringLRU
from tierwise.messages.pinning import needs_pinning

SESSION_HEADER = "x-claude-code-session-id"
AGENT_HEADER = "x-claude-code-agent-id"
DEFAULT_TURNS = 4  # expected requests per instruction before a session has its own mean
DEFAULT_MAX_SESSIONS = 20_000
DEFAULT_TTL_SECONDS = 3600.0
_ID_CAP = 128  # a caller-chosen header: keep keys bounded
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)

# the machine-readable decisions (``Routed.switch``)
TOOL_LOOP_STAY = "tool-loop-stay"
NEW_INSTRUCTION = "new-instruction"
SWITCH_PAYS = "switch-pays"
STAY_CACHE_LOSS = "stay-cache-loss"
UPGRADE = "upgrade"


def session_key(headers: Mapping[str, str]) -> str | None:
    """The session a request belongs to: ``session-id`` or ``session-id/agent-id``; ``None``
    without Claude Code's header. ``headers`` must look names up case-insensitively (or be
    lower-cased)."""
    session = (headers.get(SESSION_HEADER) or "").strip()
    if not session:
        return None
    agent = (headers.get(AGENT_HEADER) or "").strip()
    key = f"{session}/{agent}" if agent else session
    return key[:_ID_CAP]


def continues_instruction(body: Mapping[str, Any]) -> bool:
    """Whether the latest user turn carries no new human words: only tool results and
    ``<system-reminder>`` text (a tool loop, or a background-task notification)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return False
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            break
    else:
        return False
    if not isinstance(content, list) or not content:
        return False
    return all(_not_human(block) for block in content)


def _not_human(block: Any) -> bool:
    if not isinstance(block, Mapping):
        return False
    kind = block.get("type")
    if kind == "tool_result":
        return True
    text = block.get("text")
    return kind == "text" and isinstance(text, str) and not _REMINDER.sub("", text).strip()


@dataclass(frozen=True, slots=True)
class SessionState:
    """What a session has done so far: the model serving it and its usage, summed."""

    model: str
    prefix_tokens: int = 0  # cache read + cache write input tokens of the last turn
    turns: int = 0  # responses served
    instructions: int = 0  # of which started a new instruction
    input_tokens: int = 0  # uncached input, summed over the turns with usage
    output_tokens: int = 0
    measured: int = 0  # turns that reported usage

    @property
    def expected_turns(self) -> Decimal:
        """Requests an instruction takes in this session (mean so far; ``DEFAULT_TURNS``)."""
        if self.instructions <= 0 or self.turns <= 0:
            return Decimal(DEFAULT_TURNS)
        return Decimal(self.turns) / Decimal(self.instructions)

    def per_turn(self) -> tuple[int, int]:
        """Mean uncached input and output tokens per turn."""
        if self.measured <= 0:
            return 0, 0
        return self.input_tokens // self.measured, self.output_tokens // self.measured

    def served(self, model: str, usage: Usage | None, *, new_instruction: bool) -> SessionState:
        """The state after ``model`` answered one more request of the session."""
        state = replace(
            self,
            model=model,
            turns=self.turns + 1,
            instructions=self.instructions + (1 if new_instruction else 0),
        )
        if usage is None:
            return state
        writes = usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
        return replace(
            state,
            prefix_tokens=usage.cache_read_tokens + writes,
            input_tokens=self.input_tokens + usage.input_tokens,
            output_tokens=self.output_tokens + usage.output_tokens,
            measured=self.measured + 1,
        )


@dataclass(frozen=True, slots=True)
class SwitchCosts:
    """The expected cost of the rest of an instruction on each model, and the cache loss."""

    stay: Decimal  # T turns on the current model, reading the cached prefix
    switch: Decimal  # the prefix re-written once on the new model, then read T-1 times
    cache_loss: Decimal  # first turn: prefix write on the new model - prefix read on the current

    @property
    def pays(self) -> bool:
        """Switching is cheaper over the instruction."""
        return self.switch < self.stay


def switch_costs(
    state: SessionState, new_model: str, catalog: Catalog | None = None
) -> SwitchCosts | None:
    """Stay on ``state.model`` or move to ``new_model`` for the next instruction, priced.

    With P the last turn's cached prefix, I/O the session's mean uncached input and output per
    turn and T its mean turns per instruction: stay = T x cost(read P, I, O) on the current
    model; switch = cost(write P at 5m, I, O) + (T-1) x cost(read P, I, O) on the new one.
    ``None`` when the catalog cannot price either model.
    """
    inputs, outputs = state.per_turn()
    prefix = state.prefix_tokens
    turns = state.expected_turns
    read = Usage(input_tokens=inputs, cache_read_tokens=prefix, output_tokens=outputs)
    write = Usage(input_tokens=inputs, cache_write_5m_tokens=prefix, output_tokens=outputs)
    try:
        here = cost(read, state.model, catalog=catalog)
        first = cost(write, new_model, catalog=catalog)
        there = cost(read, new_model, catalog=catalog)
    except (UnknownModelError, UnknownPriceError):
        return None
    return SwitchCosts(
        stay=turns * here.total,
        switch=first.total + (turns - 1) * there.total,
        cache_loss=first.cache_write_5m - here.cache_read,
    )


class Sessions:
    """Each session's ``SessionState``: a bounded, thread-safe LRU with a sliding TTL
    (``ExpiringLRU``; the library client may be shared across threads). ``clock`` is for tests."""

    def __init__(
        self,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states: ExpiringLRU[SessionState] = ExpiringLRU(
            max_sessions, ttl_seconds, clock, what="max_sessions"
        )
        self.max_sessions = max_sessions
        self.ttl_seconds = ttl_seconds

    def get(self, key: str) -> SessionState | None:
        """The state of session ``key``, or ``None`` (never seen, evicted or expired)."""
        return self._states.get(key, refresh=False)

    def served(
        self, key: str, model: str, usage: Usage | None, *, new_instruction: bool
    ) -> SessionState:
        """Record one served request of session ``key``; the new state."""

        def advance(before: SessionState | None) -> SessionState:
            start = before if before is not None else SessionState(model=model)
            return start.served(model, usage, new_instruction=new_instruction)

        return self._states.update(key, advance)

    def clear(self) -> None:
        """Forget every session."""
        self._states.clear()

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"<Sessions {len(self)}/{self.max_sessions}, ttl {self.ttl_seconds:g}s>"


@dataclass(frozen=True, slots=True)
class SessionStep:
    """What a session does to one routed request: stay on its model, or let routing stand."""

    stay: str | None  # the model to stay on; None: the routed choice stands
    switch: str | None  # TOOL_LOOP_STAY, NEW_INSTRUCTION, SWITCH_PAYS, STAY_CACHE_LOSS, UPGRADE
    cache_cost_usd: Decimal | None = None  # the switch's cache loss (paid or avoided)
    note: str = ""  # why, for the reason


def plan_step(
    state: SessionState | None,
    body: Mapping[str, Any],
    routed_model: str,
    rank: Callable[[str], int | None],
    may_stay: Callable[[str], bool],
    *,
    pin_thinking: bool = True,
    catalog: Catalog | None = None,
) -> SessionStep:
    """The session's say on a request routing sent to ``routed_model``.

    ``rank`` gives a model's tier rank (``None``: outside the catalog); ``may_stay`` whether
    staying on a model is allowed (a budget or rewrite ceiling outranks the session).
    Signed thinking history keeps its pin (``pin_thinking``, unless the policy allows it).
    """
    continuing = continues_instruction(body)
    if state is None or not may_stay(state.model):
        return SessionStep(None, None if continuing else NEW_INSTRUCTION)
    current = state.model
    if continuing:
        return SessionStep(
            current, TOOL_LOOP_STAY, note=f"session: tool loop, staying on {current}"
        )
    if pin_thinking and needs_pinning(body, breakpoints=False):
        return SessionStep(current, None, note=f"session: thinking history, pinned to {current}")
    if routed_model == current:
        return SessionStep(None, NEW_INSTRUCTION, note="session: new instruction")
    here, there = rank(current), rank(routed_model)
    costs = switch_costs(state, routed_model, catalog)
    loss = costs.cache_loss if costs is not None else None
    if here is None or there is None:
        return SessionStep(None, NEW_INSTRUCTION, note="session: new instruction")
    if there > here:
        return SessionStep(None, UPGRADE, loss, f"session: upgrade from {current}")
    if costs is None:
        return SessionStep(None, NEW_INSTRUCTION, note="session: new instruction, unpriced")
    turns = f"{costs_turns(state)} turns"
    priced = f"${_usd(costs.switch)} vs ${_usd(costs.stay)} over {turns}"
    if costs.pays:
        return SessionStep(
            None, SWITCH_PAYS, loss, f"session: {current} -> {routed_model} pays: {priced}"
        )
    why = f"session: staying on {current}, {routed_model} would cost {priced} (cache loss)"
    return SessionStep(current, STAY_CACHE_LOSS, loss, why)


def costs_turns(state: SessionState) -> str:
    """The expected turns, short: ``4`` or ``2.5``."""
    return format(state.expected_turns.quantize(Decimal("0.1")).normalize(), "f")


def _usd(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.000001")), "f")
