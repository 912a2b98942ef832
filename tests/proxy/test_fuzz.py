"""Hostile input, generated: whatever a caller sends, tierwise answers in Anthropic's error shape
and never with a 5xx of its own. A request is either routed (and answered by the fake upstream)
or refused with a 4xx; the fake only ever answers 2xx or 4xx here, so any 5xx is tierwise's.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import VERSION, Proxy

PATHS = ["/v1/messages", "/v1/messages/count_tokens"]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same bodies every run: the suite must not be flaky
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# any JSON, including lone surrogates (hypothesis' text() draws them) and odd numbers
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
texts = st.text(max_size=200)  # surrogates, NULs, RTL marks, CJK...
blocks = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": texts}),
    st.fixed_dictionaries({"type": st.sampled_from(["image", "tool_result", "thinking", "x"])}),
    st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    json_values,
)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system", "tool", ""]) | json_values,
            "content": texts | st.lists(blocks, max_size=3) | json_values,
        }
    ),
    max_size=4,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["auto", "claude-haiku-5-5", "claude-nope", ""]) | json_values,
        "max_tokens": st.integers(-5, 100_000) | json_values,
        "messages": messages | json_values,
        "system": texts | st.lists(blocks, max_size=2) | json_values,
        "stream": st.booleans() | json_values,
        "metadata": st.dictionaries(st.text(max_size=20), json_values, max_size=3) | json_values,
        "tools": st.lists(json_values, max_size=2) | json_values,
    },
)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        error = response.json()
        assert error["type"] == "error"
        assert isinstance(error["error"]["type"], str)
        assert isinstance(error["error"]["message"], str)


def _post(proxy: Proxy, path: str, content: bytes) -> httpx.Response:
    headers = {**VERSION, "content-type": "application/json", "x-api-key": "sk-ant-fuzz"}
    return httpx.post(f"{proxy.url}{path}", content=content, headers=headers, timeout=30)


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(body=bodies)
def test_generated_bodies_never_get_a_5xx(proxy: Proxy, path: str, body: dict[str, Any]) -> None:
    content = json.dumps(body, ensure_ascii=True).encode()  # lone surrogates become \\udXXX escapes
    _check(_post(proxy, path, content))


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(junk=st.binary(max_size=300))
def test_byte_junk_never_gets_a_5xx(proxy: Proxy, path: str, junk: bytes) -> None:
    _check(_post(proxy, path, junk))


LONE_SURROGATE = (
    b'{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi \\ud800"}]}'
)
NESTED_5000 = (
    b'{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"x":'
    + b"[" * 5000
    + b"]" * 5000
    + b"}"
)
NESTED_900_IN_CONTENT = (
    b'{"model":"auto","max_tokens":5,"messages":[{"role":"user","content":'
    + b"[" * 900
    + b"]" * 900
    + b"}]}"
)


@pytest.mark.parametrize("content", [LONE_SURROGATE, NESTED_5000], ids=["surrogate", "nested"])
@pytest.mark.parametrize("path", PATHS)
def test_bodies_no_parser_can_carry_are_refused_with_400(
    proxy: Proxy, path: str, content: bytes
) -> None:
    response = _post(proxy, path, content)
    assert response.status_code == 400, response.text[:300]
    _check(response)


@pytest.mark.parametrize("path", PATHS)
def test_deep_but_parseable_content_is_not_a_5xx(proxy: Proxy, path: str) -> None:
    _check(_post(proxy, path, NESTED_900_IN_CONTENT))
