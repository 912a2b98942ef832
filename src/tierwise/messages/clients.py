"""Agent-client profiles: where the person's words are inside what a coding agent sends.

Agent clients wrap the person's request in an envelope: Claude Code adds ``<system-reminder>``
blocks (CLAUDE.md, skills, dates), ``system``-role messages, a long system prompt, tool
definitions and a billing header line; Cline and Roo put the ask in ``<task>`` beside
``<environment_details>``; Aider frames the files it added to the chat and a repo map; OpenCode
and Codex send AGENTS.md instructions and ``<environment_context>``. The envelope mentions
architecture, security and concurrency on every request, so judging it would send a typo fix
to Opus. Each profile below is data: how to recognise the client, which blocks are envelope,
where the instruction is, and which calls are the client's own background work (a session
title). Reading a body finds the latest real human text (not a tool result, not a background
notification) and how much of the prompt is fixed envelope, so that the context-size signal
counts what the task must read while the window check still counts everything.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tierwise.core.request import RouteRequest
from tierwise.core.tokens import estimate_text_tokens

_BLOCK = re.DOTALL


@dataclass(frozen=True)
class ClientProfile:
    """One agent client, declaratively."""

    name: str
    markers: tuple[str, ...]  # any of these in the system prompt or a user text: this client
    envelope: tuple[re.Pattern[str], ...] = ()  # spans of user text that are not the person's
    instruction: tuple[re.Pattern[str], ...] = ()  # group 1 is the person's words, when found
    skip_turn: tuple[str, ...] = ()  # a user turn containing one of these is not the person
    background: tuple[str, ...] = ()  # system-prompt text of the client's background calls
    subagent: tuple[str, ...] = ()  # system-prompt text of a subagent (its prompt is the task)
    files_framing: tuple[str, ...] = ()  # text that starts pasted files: the ask follows them


PROFILES: tuple[ClientProfile, ...] = (
    ClientProfile(
        name="claude-code",
        markers=(
            "<system-reminder>",
            "x-anthropic-billing-header:",
            "You are Claude Code, Anthropic's official CLI",
            "Claude Agent SDK",
        ),
        envelope=(re.compile(r"<system-reminder>.*?</system-reminder>\s*", _BLOCK),),
        instruction=(re.compile(r"<session>\s*(.*?)\s*</session>", _BLOCK),),
        skip_turn=("[SYSTEM NOTIFICATION - NOT USER INPUT]",),
        background=("You are naming a coding session", "summarize this coding conversation"),
        subagent=("You are an agent for Claude Code",),
    ),
    ClientProfile(
        name="cline",
        markers=("You are Cline", "You are Roo", "<environment_details>"),
        envelope=(re.compile(r"<environment_details>.*?</environment_details>\s*", _BLOCK),),
        instruction=(
            re.compile(r"<task>\s*(.*?)\s*</task>", _BLOCK),
            re.compile(r"<feedback>\s*(.*?)\s*</feedback>", _BLOCK),
            re.compile(r"<user_message>\s*(.*?)\s*</user_message>", _BLOCK),
            re.compile(r"<answer>\s*(.*?)\s*</answer>", _BLOCK),
        ),
    ),
    ClientProfile(
        name="aider",
        markers=("Act as an expert software developer", "*added these files to the chat*"),
        envelope=(
            re.compile(
                r"Here are summaries of some files present in my git repository\..*?"
                r"(?=I have \*added these files|\Z)",
                _BLOCK,
            ),
        ),
        files_framing=("I have *added these files to the chat*",),
    ),
    ClientProfile(
        name="opencode-codex",
        markers=(
            "You are opencode",
            "You are Codex",
            "<environment_context>",
            "# AGENTS.md instructions",
        ),
        envelope=(
            re.compile(r"# AGENTS\.md instructions for [^\n]*\n", _BLOCK),
            re.compile(r"<INSTRUCTIONS>.*?</INSTRUCTIONS>\s*", _BLOCK),
            re.compile(r"<user_instructions>.*?</user_instructions>\s*", _BLOCK),
            re.compile(r"<environment_context>.*?</environment_context>\s*", _BLOCK),
        ),
    ),
)


@dataclass(frozen=True)
class ClientView:
    """What a profile found in a body: the instruction and what is envelope."""

    client: str
    instruction: str  # the person's latest words ("" when none were found)
    background: bool  # the client's own background call (title, summary)
    subagent: bool  # a subagent's request: its prompt from the parent agent is the task
    envelope_tokens: int  # the fixed envelope: system prompt, tools, reminders, system turns


def profile_for(system: str, texts: Sequence[str]) -> ClientProfile | None:
    """The profile whose markers appear in the system prompt or the user texts."""
    # one string searched once per marker (no marker holds a NUL, so none spans two texts)
    haystack = "\x00".join((system, *texts)) if texts else system
    for profile in PROFILES:
        if any(m in haystack for m in profile.markers):
            return profile
    return None


def instruction_in(text: str, profile: ClientProfile) -> str:
    """The person's words in one user text, without the client's envelope ("" if none)."""
    for pattern in profile.envelope:
        text = pattern.sub("", text)
    for pattern in profile.instruction:
        match = pattern.search(text)
        if match:
            return match.group(1).strip()
    for framing in profile.files_framing:
        if framing in text:
            _, _, after = text.rpartition(framing)
            # files are pasted as `path` + a fenced block; the ask follows the last block
            _, fence, ask = after.rpartition("```")
            return ask.strip() if fence else ""
    return text.strip()


def read_client(body: Mapping[str, Any], *, tools_tokens: int | None = None) -> ClientView | None:
    """The client view of a Messages body, or ``None`` when no profile recognises it.
    ``tools_tokens``: the tool definitions' tokens when the caller has counted them already
    (encoding each tool to count it is most of the work for an agent's body)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    system = _system_text(body.get("system"))
    turns = [(m.get("role"), m.get("content")) for m in messages if isinstance(m, Mapping)]
    user_texts = [t for role, content in turns if role == "user" for t in _texts(content)]
    profile = profile_for(system, user_texts[:16])
    if profile is None:
        return None
    model = str(body.get("model") or "")
    envelope = estimate_text_tokens(system, model) if system else 0
    tools = body.get("tools")
    if tools_tokens is not None:
        envelope += tools_tokens
    elif isinstance(tools, list):
        envelope += sum(estimate_text_tokens(_dumps(tool), model) for tool in tools)
    instruction = ""
    for role, content in reversed(turns):
        texts = _texts(content)
        if role == "system":
            envelope += sum(estimate_text_tokens(t, model) for t in texts)
            continue
        if role != "user":
            continue
        whole = "\n".join(texts)
        if any(marker in whole for marker in profile.skip_turn):
            continue
        words = "\n".join(w for w in (instruction_in(t, profile) for t in texts) if w)
        if words and not instruction:
            instruction = words
        envelope += max(0, estimate_text_tokens(whole, model) - estimate_text_tokens(words, model))
    return ClientView(
        client=profile.name,
        instruction=instruction,
        background=not tools and any(b.lower() in system.lower() for b in profile.background),
        subagent=any(s in system for s in profile.subagent),
        envelope_tokens=envelope,
    )


def with_client_view(
    request: RouteRequest, body: Mapping[str, Any], *, tools_tokens: int | None = None
) -> RouteRequest:
    """``request`` judged by the person's words when a client profile recognises the body: the
    instruction as text, the envelope left out of ``task_tokens``, background calls marked."""
    view = read_client(body, tools_tokens=tools_tokens)
    if view is None:
        return request
    context = request.context_tokens
    return dataclasses.replace(
        request,
        text=view.instruction or request.text,
        task_tokens=None if context is None else max(0, context - view.envelope_tokens),
        background=view.background,
        metadata={**request.metadata, "client": view.client},
    )


def _texts(content: Any) -> list[str]:
    """The text blocks of one message (tool results are the tools' output, not the person)."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        block["text"]
        for block in content
        if isinstance(block, Mapping)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ]


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(
            b["text"] for b in system if isinstance(b, Mapping) and isinstance(b.get("text"), str)
        )
    return ""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
