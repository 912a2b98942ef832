"""A body parsed once with its value spans, and a routed body re-encoded from them.

``parse_with_spans`` must be ``json.loads`` (values, errors, duplicate keys); ``encode_routed``
must produce a body equal to the routed one while copying untouched values byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.learned.pipeline import Router
from tierwise.messages.body_bytes import encode_json, encode_routed, parse_with_spans
from tierwise.messages.routing import MessagesRouter
from tierwise.serving import ProxyServer, ProxySettings, create_app
from tierwise.serving.upstream import RetryPolicy, UpstreamConfig
from tierwise.testing import FakeAnthropicServer

FIXTURES = sorted((Path(__file__).parent / "data" / "claude_code").glob("*.json"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=6), st.sampled_from([None, 2, "\t"]))
def test_parsing_with_spans_is_json_loads(body: dict[str, Any], indent: int | str | None) -> None:
    for ascii_only in (True, False):
        raw = json.dumps(body, indent=indent, ensure_ascii=ascii_only).encode()
        parsed, spans = parse_with_spans(raw)
        assert parsed == json.loads(raw)
        assert spans is not None
        for key, (start, end) in spans.spans.items():
            assert json.loads(spans.text[start:end]) == parsed[key]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',  # duplicate keys: the last one wins, as in json.loads
        b"  {}  ",
        b'{"x": [1, {"y": "\\u00e9\\ud83d\\ude00"}], "z": null}\n',
        b'{"big": 1e400, "tiny": -0.0}',
    ],
)
def test_edge_cases_match_json_loads(raw: bytes) -> None:
    parsed, spans = parse_with_spans(raw)
    assert parsed == json.loads(raw)
    assert spans is not None


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2]", b'"text"', b"\xef\xbb\xbf{}", '{"a": "é"}'.encode("utf-16"), b'{"a": 1} x'],
)
def test_what_the_walk_does_not_take_is_json_loads_answer(raw: bytes) -> None:
    try:
        expected: Any = json.loads(raw)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            parse_with_spans(raw)
        return
    parsed, spans = parse_with_spans(raw)
    assert parsed == expected
    assert spans is None


@pytest.mark.parametrize("raw", [b'{"a": }', b'{"a": 1,}', b'{"a" 1}', b"{", b'{"a": "\x01"}'])
def test_invalid_bodies_raise_what_json_loads_raises(raw: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    with pytest.raises(json.JSONDecodeError):
        parse_with_spans(raw)


def test_deep_nesting_raises_recursion_error_like_json_loads() -> None:
    raw = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(RecursionError):
        json.loads(raw)
    with pytest.raises(RecursionError):
        parse_with_spans(raw)


def test_untouched_values_keep_their_bytes_and_the_result_equals_the_routed_body() -> None:
    messages = '[ {"role": "user",  "content": "héllo  \\u00e9"} ]'  # odd spacing, an escape
    raw = ('{"model": "tierwise-auto", "max_tokens": 99, "messages": ' + messages + "}").encode()
    original, spans = parse_with_spans(raw)
    routed = {**original, "model": "claude-haiku-4-5", "max_tokens": 64, "stream": True}
    sent = encode_routed(routed, original, raw, spans)
    assert json.loads(sent) == routed
    assert messages.encode() in sent  # copied as the caller wrote it, not re-encoded
    assert encode_routed(original, original, raw, spans) is raw  # unchanged: the raw bytes
    del routed["max_tokens"]
    assert json.loads(encode_routed(routed, original, raw, spans)) == routed


def test_a_replaced_value_is_encoded_even_when_equal_to_the_original() -> None:
    raw = b'{"model": "a", "thinking": {"type": "enabled"}}'
    original, spans = parse_with_spans(raw)
    routed = {**original, "model": "b", "thinking": {"type": "adaptive"}}
    assert json.loads(encode_routed(routed, original, raw, spans)) == routed
    assert encode_routed(routed, original, raw, None) == encode_json(routed)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.mark.parametrize("path", [f for f in FIXTURES if f.stat().st_size > 20_000][:3])
def test_a_routed_claude_code_body_reaches_the_upstream_with_its_history_bytes_intact(
    path: Path, fake: FakeAnthropicServer
) -> None:
    fixture = json.loads(path.read_text())
    body = {**fixture["body"], "model": "tierwise-auto"}
    # written the way Node's JSON.stringify writes (UTF-8, no spaces), not as Python would
    messages = json.dumps(body["messages"], ensure_ascii=False, separators=(",", ":"))
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    upstream = UpstreamConfig(base_url=fake.url, retry=RetryPolicy(max_retries=0))
    app = create_app(MessagesRouter(Router()), ProxySettings(upstream=upstream))
    headers = {**fixture["headers"], "x-api-key": "sk-ant-0", "content-type": "application/json"}
    with ProxyServer(app) as server:
        fake.log.clear()
        response = httpx.post(server.url + "/v1/messages", headers=headers, content=raw, timeout=30)
    assert response.status_code == 200, response.text
    sent = fake.log.last.raw_body
    assert json.loads(sent)["model"] != "tierwise-auto"
    assert messages.encode() in sent


@pytest.mark.parametrize("path", [f for f in FIXTURES if f.stat().st_size > 20_000])
def test_tools_counted_from_their_arrived_text_agree_with_encoding_them(path: Path) -> None:
    """Counting the tool definitions from the bytes they came in as (the proxy's way) may differ
    from encoding each (the library's way) only by rounding: one token per tool at most."""
    from tierwise.messages.hints import Hints
    from tierwise.messages.parse import route_request_from_body

    body = json.loads(path.read_text())["body"]
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    parsed, spans = parse_with_spans(raw)
    assert spans is not None
    arrived = route_request_from_body(parsed, Hints(), spans=spans).context_tokens
    encoded = route_request_from_body(parsed, Hints()).context_tokens
    assert arrived is not None
    assert encoded is not None
    assert abs(arrived - encoded) <= len(body.get("tools", [])) + 1
    assert spans.text_of("tools", {"a": 1}) is None  # another value: no text to count from


@pytest.mark.parametrize("path", [f for f in FIXTURES if f.stat().st_size > 20_000][:4])
def test_the_conversation_key_is_the_same_with_and_without_spans(path: Path) -> None:
    from tierwise.messages.pinning import conversation_key

    body = json.loads(path.read_text())["body"]
    for style in ({"separators": (",", ":"), "ensure_ascii": False}, {"indent": 1}):
        raw = json.dumps(body, **style).encode()
        parsed, spans = parse_with_spans(raw)
        assert conversation_key(parsed, spans) == conversation_key(parsed)
        assert conversation_key(parsed, spans) == conversation_key(parsed, spans)  # cached


def test_the_last_member_is_read_from_the_end_only_when_it_is_the_top_level_one() -> None:
    from tierwise.messages.body_bytes import last_member

    usage = {"input_tokens": 12, "output_tokens": 3, "cache_read_input_tokens": 0}
    message = {
        "id": "msg_1",
        "content": [
            {"type": "text", "text": 'quoted "usage": {"input_tokens": 999}'},
            {"type": "tool_use", "id": "t", "name": "n", "input": {"usage": {"x": 1}}},
        ],
        "usage": usage,
    }
    for style in ({}, {"indent": 2}, {"separators": (",", ":")}):
        assert last_member(json.dumps(message, **style).encode(), "usage") == usage
    reordered = {"usage": usage, "content": message["content"]}  # a nested one would be last
    with pytest.raises(KeyError):
        last_member(json.dumps(reordered).encode(), "usage")
    for other in (b'{"id": "x"}', b"not json", b'{"usage": {"a": 1}'):
        with pytest.raises(KeyError):
            last_member(other, "usage")
