"""A capturing fake Anthropic server for watching what the real Claude Code CLI sends.

Standard library only. Records every request (method, path, query, headers without secrets,
JSON body) as one JSON line in a log file and answers in Anthropic's wire format:

* ``POST /v1/messages`` -- non-streaming JSON, or SSE when the body says ``"stream": true``
  (message_start, content_block_start, ping, content_block_delta, content_block_stop,
  message_delta with cumulative usage, message_stop);
* ``POST /v1/messages/count_tokens`` -- ``{"input_tokens": N}`` (a chars/4 estimate);
* ``GET /v1/models`` and ``GET /v1/models/{id}`` -- the list / ModelInfo shape;
* ``HEAD /`` and ``GET /`` -- 200 with an empty body (Claude Code probes the base URL);
* anything else -- 404 with an Anthropic error body (and logged like the rest).

Scripts (``--script``), chosen per request from what the request itself carries, so one server
answers the main loop, subagents and background calls alike:

* ``text``  -- always a short text answer;
* ``tool``  -- a request that offers the tool ``--tool`` (default Bash) and whose last user turn
  is not a tool_result gets a ``tool_use`` block; after the tool_result, text;
* ``agent`` -- the first request that offers ``Agent`` (or ``Task``) gets an Agent tool_use that
  starts a subagent (once per server run: subagents offer Agent too); a request with no
  assistant turn yet (the subagent's first) gets one Bash tool_use, everything else text, so
  the subagent's own loop is captured too.

Background calls (no tools) always get text; one that asks for JSON output through
``output_config.format`` (json_schema) gets a JSON object built from the schema.

    python tests/claude_code/capture_server.py --port 8765 --log /tmp/cc.jsonl --script tool

Models offered by ``/v1/models`` come from ``--models`` (comma-separated ids).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SECRET_HEADERS = {"x-api-key", "authorization", "cookie", "proxy-authorization"}
DEFAULT_MODELS = "claude-sonnet-4-5,claude-opus-4-1,claude-haiku-4-5"

_counter = itertools.count(1)
_lock = threading.Lock()


def _redact(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        low = name.lower()
        if low in SECRET_HEADERS:
            out[low] = f"<redacted {len(value)} chars>"
        else:
            out[low] = value
    return out


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(block.get("text", ""))
                elif block.get("type") == "tool_result":
                    parts.append(_text_of(block.get("content", "")))
                elif block.get("type") == "tool_use":
                    parts.append(json.dumps(block.get("input", {})))
        return "\n".join(parts)
    return ""


def estimate_tokens(body: dict[str, Any]) -> int:
    chars = len(json.dumps(body.get("system", ""))) + len(json.dumps(body.get("tools", [])))
    for message in body.get("messages", []):
        chars += len(_text_of(message.get("content", "")))
    return max(1, chars // 4)


def _from_schema(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: _from_schema(sub) for key, sub in props.items()}
    if kind == "array":
        return [_from_schema(schema.get("items", {"type": "string"}))]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return 1
    return "Rename x to count"


class Scripter:
    def __init__(self, mode: str, tool: str, tool_input: dict[str, Any]) -> None:
        self.mode = mode
        self.tool = tool
        self.tool_input = tool_input
        self.agent_spawned = False

    def blocks(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """The content blocks and stop_reason to answer this request with."""
        tools = {t.get("name") for t in body.get("tools", []) or [] if isinstance(t, dict)}
        messages: list[dict[str, Any]] = body.get("messages", []) or []
        # the last *user* turn (a role:system message may follow it)
        last_user: dict[str, Any] = next(
            (m for m in reversed(messages) if m.get("role") == "user"), {}
        )
        content = last_user.get("content")
        after_tool = isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        )
        fmt = (body.get("output_config") or {}).get("format") or {}
        if fmt.get("type") == "json_schema":
            return [
                {"type": "text", "text": json.dumps(_from_schema(fmt.get("schema", {})))}
            ], "end_turn"
        if not tools:
            return [{"type": "text", "text": "Rename x to count"}], "end_turn"
        if self.mode == "agent":
            # One Agent call per server run (subagents offer Agent too: answering every request
            # that offers it with another Agent call never ends). Then a request with no
            # assistant turn yet (the subagent's first) gets one Bash call; everything else text.
            agent_tool = "Agent" if "Agent" in tools else ("Task" if "Task" in tools else None)
            has_assistant = any(m.get("role") == "assistant" for m in messages)
            with _lock:
                spawn = agent_tool is not None and not self.agent_spawned
                self.agent_spawned = self.agent_spawned or spawn
            if spawn and agent_tool:
                return [
                    {"type": "text", "text": "I'll ask a subagent."},
                    self._tool_use(
                        agent_tool,
                        {
                            "description": "Find utils.py",
                            "prompt": "Find the file utils.py in this project and report its path.",
                            "subagent_type": "general-purpose",
                        },
                    ),
                ], "tool_use"
            if not has_assistant and not after_tool and "Bash" in tools:
                return [
                    self._tool_use("Bash", {"command": "echo hi", "description": "say hi"})
                ], "tool_use"
            return [{"type": "text", "text": "Done: utils.py is at the project root."}], "end_turn"
        if self.mode == "tool" and self.tool in tools and not after_tool:
            return [
                {"type": "text", "text": "Let me run that."},
                self._tool_use(self.tool, self.tool_input),
            ], "tool_use"
        return [{"type": "text", "text": "Done. I renamed x to count in utils.py."}], "end_turn"

    @staticmethod
    def _tool_use(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "tool_use",
            "id": "toolu_" + uuid.uuid4().hex[:24],
            "name": name,
            "input": tool_input,
        }


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _model_info(model_id: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": model_id.replace("-", " ").title(),
        "created_at": "2025-09-29T00:00:00Z",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    }


def make_handler(
    log_path: str, scripter: Scripter, models: list[str]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "capture/1"

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet stderr
            pass

        # -- recording ------------------------------------------------------------
        def _record(self, raw: bytes, status: int, extra: dict[str, Any] | None = None) -> None:
            split = urlsplit(self.path)
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            entry = {
                "seq": next(_counter),
                "time": time.time(),
                "method": self.command,
                "path": split.path,
                "query": parse_qs(split.query),
                "headers": _redact(dict(self.headers.items())),
                "body": body,
                "status": status,
            }
            if extra:
                entry.update(extra)
            with _lock, open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

        def _read(self) -> bytes:
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("request-id", "req_" + uuid.uuid4().hex[:24])
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _not_found(self, raw: bytes) -> None:
            self._record(raw, 404, {"unknown": True})
            self._json(
                404,
                {
                    "type": "error",
                    "error": {
                        "type": "not_found_error",
                        "message": f"Not found: {self.command} {self.path}",
                    },
                    "request_id": "req_" + uuid.uuid4().hex[:24],
                },
            )

        # -- verbs ----------------------------------------------------------------
        def do_HEAD(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/", ""):
                self._record(b"", 200)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
            else:
                self._not_found(b"")

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/", ""):
                self._record(b"", 200)
                self._json(200, {"ok": True})
            elif path == "/v1/models":
                self._record(b"", 200)
                data = [_model_info(m) for m in models]
                self._json(
                    200,
                    {
                        "data": data,
                        "has_more": False,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                    },
                )
            elif path.startswith("/v1/models/"):
                model_id = path.rsplit("/", 1)[1]
                if model_id in models:
                    self._record(b"", 200)
                    self._json(200, _model_info(model_id))
                else:
                    self._not_found(b"")
            else:
                self._not_found(b"")

        def do_POST(self) -> None:
            raw = self._read()
            path = urlsplit(self.path).path
            if path == "/v1/messages/count_tokens":
                body = json.loads(raw or b"{}")
                self._record(raw, 200)
                self._json(200, {"input_tokens": estimate_tokens(body)})
            elif path == "/v1/messages":
                body = json.loads(raw or b"{}")
                blocks, stop = scripter.blocks(body)
                self._record(raw, 200, {"answer": blocks})
                if body.get("stream"):
                    self._stream(body, blocks, stop)
                else:
                    self._json(200, self._message(body, blocks, stop))
            else:
                self._not_found(raw)

        def do_PUT(self) -> None:
            self._not_found(self._read())

        def do_DELETE(self) -> None:
            self._not_found(self._read())

        def do_PATCH(self) -> None:
            self._not_found(self._read())

        # -- answers --------------------------------------------------------------
        @staticmethod
        def _message(
            body: dict[str, Any], blocks: list[dict[str, Any]], stop: str
        ) -> dict[str, Any]:
            return {
                "id": "msg_" + uuid.uuid4().hex[:24],
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "claude-sonnet-4-5"),
                "content": blocks,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": _usage(estimate_tokens(body), 12),
            }

        def _stream(self, body: dict[str, Any], blocks: list[dict[str, Any]], stop: str) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("request-id", "req_" + uuid.uuid4().hex[:24])
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True

            def event(name: str, payload: dict[str, Any]) -> None:
                self.wfile.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            in_tokens = estimate_tokens(body)
            start = self._message(body, [], stop)
            start["stop_reason"] = None
            start["usage"] = _usage(in_tokens, 1)
            event("message_start", {"type": "message_start", "message": start})
            event("ping", {"type": "ping"})
            for index, block in enumerate(blocks):
                if block["type"] == "text":
                    event(
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {"type": "text", "text": ""},
                        },
                    )
                    text = block["text"]
                    for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                        event(
                            "content_block_delta",
                            {
                                "type": "content_block_delta",
                                "index": index,
                                "delta": {"type": "text_delta", "text": piece},
                            },
                        )
                else:
                    event(
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {
                                "type": "tool_use",
                                "id": block["id"],
                                "name": block["name"],
                                "input": {},
                            },
                        },
                    )
                    partial = json.dumps(block["input"])
                    for piece in (partial[: len(partial) // 2], partial[len(partial) // 2 :]):
                        event(
                            "content_block_delta",
                            {
                                "type": "content_block_delta",
                                "index": index,
                                "delta": {"type": "input_json_delta", "partial_json": piece},
                            },
                        )
                event("content_block_stop", {"type": "content_block_stop", "index": index})
            usage = {
                "input_tokens": in_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 12,
            }
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": usage,
                },
            )
            event("message_stop", {"type": "message_stop"})

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--log", required=True, help="JSONL file to append every request to")
    parser.add_argument("--script", choices=("text", "tool", "agent"), default="text")
    parser.add_argument("--tool", default="Bash")
    parser.add_argument("--tool-input", default='{"command": "echo hi", "description": "say hi"}')
    parser.add_argument(
        "--models", default=DEFAULT_MODELS, help="comma-separated ids for /v1/models"
    )
    args = parser.parse_args(argv)
    scripter = Scripter(args.script, args.tool, json.loads(args.tool_input))
    models = [m for m in args.models.split(",") if m]
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.log, scripter, models))
    print(
        f"capture server on http://{args.host}:{args.port} -> {args.log} (script={args.script})",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
