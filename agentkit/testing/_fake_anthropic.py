"""A loopback HTTP server that plays an Anthropic Messages API (``POST /v1/messages``) from a script.

The same scripted [`Reply`][agentkit.testing.Reply] values as
[`FakeKimiServer`][agentkit.testing.FakeKimiServer] are answered in Anthropic's wire format:
``text`` and ``tool_use`` content blocks, ``stop_reason``,
``usage`` with ``cache_read_input_tokens``, the ``{"type": "error", "error": {...}}`` error body,
and the SSE event sequence (``message_start``, ``content_block_*``, ``message_delta``,
``message_stop``). Token counts use the same crude estimate as the Kimi fake; a reply's
``usage=(prompt, completion, cached)`` is reported as ``input_tokens = prompt - cached`` plus
``cache_read_input_tokens = cached`` (Anthropic counts cache reads separately).

>>> import httpx
>>> with FakeAnthropicServer([Reply.text("hello")]) as server:
...     r = httpx.post(f"{server.base_url}/v1/messages", json={"model": "m", "messages": []})
>>> r.json()["content"]
[{'type': 'text', 'text': 'hello'}]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

import orjson

from agentkit.testing._fake_kimi import RecordedRequest, Script
from agentkit.testing._kimi_wire import Reply, estimate_prompt_tokens
from agentkit.testing._script import ReplyScript

__all__ = ["FakeAnthropicServer", "anthropic_message_body", "anthropic_stream_events"]

_STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


def _prompt_estimate(body: dict[str, Any]) -> int:
    """The Kimi fake's estimate, over Anthropic-shaped messages (text and tool blocks flattened)."""
    flat: list[dict[str, Any]] = []
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        parts = [content] if isinstance(content, str) else content if isinstance(content, list) else []
        text = "".join(
            p
            if isinstance(p, str)
            else str(p.get("text") or p.get("content") or orjson.dumps(p.get("input") or ""))
            for p in parts
        )
        flat.append({"content": text})
    system = body.get("system")
    if isinstance(system, str):
        flat.append({"content": system})
    return estimate_prompt_tokens({"messages": flat})


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion, cached = reply.usage
    else:
        prompt, cached = _prompt_estimate(body), 0
        chars = len(reply.content or "") + sum(len(n) + len(a) for n, a in reply.calls)
        completion = max(1, chars // 4)
    return {"input_tokens": prompt - cached, "cache_read_input_tokens": cached, "output_tokens": completion}


def _blocks(reply: Reply, number: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.reasoning:
        blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": f"sig-{number}"})
    if reply.content:
        blocks.append({"type": "text", "text": reply.content})
    for i, (name, args) in enumerate(reply.calls):
        try:
            parsed: Any = orjson.loads(args)
        except orjson.JSONDecodeError:
            parsed = args  # a malformed call: sent as a string (real servers never do; tests may)
        blocks.append({"type": "tool_use", "id": f"toolu_{number:04d}_{i}", "name": name, "input": parsed})
    return blocks


def anthropic_message_body(reply: Reply, body: dict[str, Any], *, number: int) -> dict[str, Any]:
    """Build the non-streaming ``message`` body for ``reply`` answering request ``body``."""
    return {
        "id": f"msg_fake{number:06d}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": _blocks(reply, number),
        "stop_reason": _STOP_REASONS.get(reply.finish_reason, reply.finish_reason),
        "stop_sequence": None,
        "usage": _usage(reply, body),
    }


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def _block_events(index: int, block: dict[str, Any]) -> Iterator[bytes]:
    kind = block["type"]
    if kind == "tool_use":
        yield _sse("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
        raw = block["input"] if isinstance(block["input"], str) else orjson.dumps(block["input"]).decode()
        half = len(raw) // 2
        for piece in (raw[:half], raw[half:]):
            yield _sse(
                "content_block_delta",
                {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
            )
    else:
        field, delta_type = ("text", "text_delta") if kind == "text" else ("thinking", "thinking_delta")
        yield _sse("content_block_start", {"index": index, "content_block": {"type": kind, field: ""}})
        text = block[field]
        half = len(text) // 2
        for piece in (text[:half], text[half:]):
            if piece:
                yield _sse(
                    "content_block_delta", {"index": index, "delta": {"type": delta_type, field: piece}}
                )
        if kind == "thinking":
            delta = {"type": "signature_delta", "signature": block["signature"]}
            yield _sse("content_block_delta", {"index": index, "delta": delta})
    yield _sse("content_block_stop", {"index": index})


def anthropic_stream_events(reply: Reply, body: dict[str, Any], *, number: int) -> list[bytes]:
    """Build every SSE event of a streamed answer, ``message_start`` to ``message_stop``."""
    message = anthropic_message_body(reply, body, number=number)
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [_sse("message_start", {"message": start}), _sse("ping", {})]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(_sse("message_delta", {"delta": delta, "usage": {"output_tokens": usage["output_tokens"]}}))
    events.append(_sse("message_stop", {}))
    return events


class FakeAnthropicServer:
    """A real HTTP server on loopback answering ``POST /v1/messages`` from ``script``.

    ``script`` is a sequence of replies used in order or a callable ``(body) -> Reply``
    (replies queued with `add` come first). When nothing is left it answers 500
    ``api_error`` and notes it in `problems`.

    Attributes:
        requests: every request received, in order.
        problems: what went wrong on the server side; tests should assert it stays empty.

    """

    def __init__(self, script: Script = (), *, host: str = "127.0.0.1") -> None:
        self._script = ReplyScript(script, server="FakeAnthropicServer", error_type="api_error")
        self._host = host
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = self._script.requests
        self.problems: list[str] = self._script.problems

    def start(self) -> None:
        """Bind and start serving in a daemon thread (no-op when already running)."""
        if self._httpd is not None:
            return
        httpd = ThreadingHTTPServer((self._host, 0), _Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        cast(Any, httpd).fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        httpd.shutdown()
        thread.join()
        httpd.server_close()
        self._httpd = self._thread = None

    def __enter__(self) -> FakeAnthropicServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What a client passes as ``base_url``: ``http://127.0.0.1:PORT`` (Messages at ``/v1/messages``)."""
        if self._httpd is None:
            raise RuntimeError(
                "FakeAnthropicServer is not running; call start() or use it as a context manager"
            )
        return f"http://{self._host}:{self._httpd.server_address[1]}"

    def add(self, *replies: Reply) -> None:
        """Queue more replies (used before a responder, in order)."""
        self._script.add(*replies)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_POST(self) -> None:
        fake: FakeAnthropicServer = cast(Any, self.server).fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        number = fake._script.record(
            RecordedRequest(method="POST", path=self.path, headers=headers, body=body)
        )
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/messages":
            self._json(404, _error("not_found_error", f"no route for POST {self.path}"), number, {})
        elif body is None:
            self._json(400, _error("invalid_request_error", "the body is not a JSON object"), number, {})
        else:
            self._answer(fake._script.next_reply(body), body, number)

    def _answer(self, reply: Reply, body: dict[str, Any], number: int) -> None:
        if reply.latency_s > 0:
            time.sleep(reply.latency_s)
        extra = dict(reply.headers)
        if reply.kind == "error":
            if reply.retry_after is not None:
                extra.setdefault("retry-after", str(reply.retry_after))
            self._json(
                reply.status, _error(reply.error_type or "api_error", reply.message or ""), number, extra
            )
        elif reply.kind == "raw":
            self._json(reply.status, reply.body, number, extra, content_type=reply.content_type)
        elif body.get("stream"):
            events = anthropic_stream_events(reply, body, number=number)
            if reply.cut_stream_after is not None:
                events = events[: reply.cut_stream_after]
                self.close_connection = True
            payload = b"".join(events)
            self._json(200, payload, number, extra, content_type="text/event-stream")
        else:
            self._json(200, orjson.dumps(anthropic_message_body(reply, body, number=number)), number, extra)

    def _json(
        self,
        status: int,
        payload: bytes,
        number: int,
        extra: dict[str, str],
        *,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("request-id", f"req_fake{number:06d}")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _error(error_type: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})
