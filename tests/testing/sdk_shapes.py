"""Every request shape the official SDK's types allow, enumerated from the types at runtime.

The fake and the proxy must accept whatever ``anthropic`` (pinned in the dev extra) can build,
so the shapes are read from the SDK's own ``TypedDict``s, not written down by hand: a new role,
block type or top-level field in a later SDK is covered the day the pin moves. Each value is
the smallest one the type allows (required keys only, first member of a union, one-item lists).
"""

from __future__ import annotations

import collections.abc
import types
from dataclasses import dataclass, field
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import pydantic
from anthropic.types import ContentBlockParam, MessageParam
from anthropic.types import message_create_params as create_params
from anthropic.types.beta import BetaContentBlockParam, BetaMessageParam
from anthropic.types.beta import message_create_params as beta_create_params
from typing_extensions import is_typeddict  # the SDK's TypedDicts are typing_extensions'

MAX_DEPTH = 8
FIXED_KEYS = frozenset({"model", "messages", "max_tokens", "stream"})  # every request sets them
HEADER_KEYS = frozenset({"betas"})  # the SDK sends these as headers, not in the body
_WRAPPERS = (Required, NotRequired)


@dataclass(frozen=True)
class Shape:
    """One request: a name for the test id, and what to add to a minimal body."""

    name: str
    messages: list[dict[str, Any]]
    fields: dict[str, Any] = field(default_factory=dict)
    beta: bool = False  # sent with ``client.beta.messages.create``


def unwrap(tp: Any) -> Any:
    """``tp`` without ``Annotated``, ``Required`` and ``NotRequired``."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated or origin in _WRAPPERS:
            tp = get_args(tp)[0]
        else:
            return tp


def union_members(tp: Any) -> list[Any]:
    """The members of a union (``None`` left out), or ``[tp]`` for anything else."""
    tp = unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [m for arg in get_args(tp) if arg is not type(None) for m in union_members(arg)]
    return [tp]


def literal_values(tp: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` type (through unions), ``()`` for anything else."""
    values: list[Any] = []
    for member in union_members(tp):
        if get_origin(member) is Literal:
            values.extend(get_args(member))
    return tuple(values)


def minimal(tp: Any, depth: int = 0) -> Any:
    """The smallest JSON value of type ``tp`` the SDK would send."""
    members = union_members(tp)
    tp = members[0]
    origin = get_origin(tp)
    if tp is Any or tp is object or tp is str:
        return "x"
    if origin is Literal:
        return get_args(tp)[0]
    if tp is bool:
        return False
    if tp is int:
        return 1
    if tp is float:
        return 1.0
    if is_typeddict(tp):
        hints = get_type_hints(tp, include_extras=True)
        return {
            key: minimal(hint, depth + 1)
            for key, hint in hints.items()
            if _required(hint, total=getattr(tp, "__total__", True))
        }
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        fields = tp.model_fields
        return {
            name: minimal(info.annotation, depth + 1)
            for name, info in fields.items()
            if info.is_required()
        }
    if origin in (dict, collections.abc.Mapping):
        return {}
    if origin is not None and _is_sequence(origin):
        args = get_args(tp)
        return [minimal(args[0], depth + 1)] if args and depth < MAX_DEPTH else []
    raise TypeError(f"no minimal value for {tp!r}")


def _required(hint: Any, *, total: bool) -> bool:
    """Whether a ``TypedDict`` key is required (``__required_keys__`` misses string
    annotations: the SDK's modules use ``from __future__ import annotations``)."""
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    if get_origin(hint) is Required:
        return True
    return total and get_origin(hint) is not NotRequired


def _is_sequence(origin: Any) -> bool:
    if origin in (list, tuple, collections.abc.Iterable, collections.abc.Sequence):
        return True
    return "Sequence" in getattr(origin, "__name__", "")  # the SDK's SequenceNotStr protocol


def roles(message_param: Any) -> list[str]:
    """Every ``role`` literal of the ``MessageParam`` union."""
    out: list[str] = []
    for member in union_members(message_param):
        out.extend(literal_values(get_type_hints(member)["role"]))
    return out


def block_params(block_param: Any) -> dict[str, Any]:
    """Each content block ``type`` literal and the type that declares it: a ``TypedDict``, or
    a response block (a pydantic model), which the SDK also accepts as input."""
    out: dict[str, Any] = {}
    for member in union_members(block_param):
        if isinstance(member, type) and issubclass(member, pydantic.BaseModel):
            annotation = member.model_fields["type"].annotation
        else:
            annotation = get_type_hints(member)["type"]
        for kind in literal_values(annotation):
            out.setdefault(kind, member)
    return out


def top_level(params: Any) -> dict[str, Any]:
    """``MessageCreateParams``' optional body keys and their types."""
    hints = get_type_hints(params, include_extras=True)
    return {k: v for k, v in hints.items() if k not in FIXED_KEYS | HEADER_KEYS}


def _user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def _shapes(message_param: Any, block_param: Any, params: Any, beta: bool) -> list[Shape]:
    prefix = "beta." if beta else ""
    hello = _user("Rename the variable x to count")
    shapes: list[Shape] = []
    for role in roles(message_param):
        message = {"role": role, "content": [{"type": "text", "text": f"a {role} message"}]}
        shapes.append(Shape(f"{prefix}role:{role}", [hello, message, _user("go on")], beta=beta))
        as_string = {"role": role, "content": f"a {role} message"}
        shapes.append(Shape(f"{prefix}role:{role}:str", [hello, as_string, _user("ok")], beta=beta))
    for kind, typed in block_params(block_param).items():
        block = minimal(typed)
        content = [{"type": "text", "text": "Explain this"}, block]
        shapes.append(Shape(f"{prefix}block:{kind}", [_user(content)], beta=beta))
    for key, tp in top_level(params).items():
        for index, value in enumerate(_variants(tp)):
            name = f"{prefix}field:{key}" + (f":{index}" if index else "")
            shapes.append(Shape(name, [hello], {key: value}, beta=beta))
    return shapes


def _variants(tp: Any) -> list[Any]:
    """One value per union member, also inside a list (``tools``: one per tool type)."""
    tp = unwrap(tp)
    origin = get_origin(tp)
    if origin is not None and _is_sequence(origin) and get_args(tp):
        return [[minimal(member)] for member in union_members(get_args(tp)[0])]
    return [minimal(member) for member in union_members(tp)]


def sdk_shapes() -> list[Shape]:
    """Every role, content block type and top-level field of ``messages.create`` and of
    ``beta.messages.create``, one request each."""
    return [
        *_shapes(MessageParam, ContentBlockParam, create_params.MessageCreateParamsBase, False),
        *_shapes(
            BetaMessageParam,
            BetaContentBlockParam,
            beta_create_params.MessageCreateParamsBase,
            True,
        ),
    ]
