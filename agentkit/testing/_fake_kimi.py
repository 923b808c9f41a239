"""A loopback HTTP server that plays Kimi (OpenAI Chat Completions) from a script.

Tests and benchmarks point a real client (the openai SDK, httpx) at
`FakeKimiServer.base_url`; every request is recorded and answered by the
next scripted [`Reply`][agentkit.testing.Reply]. It is a standard-library
``ThreadingHTTPServer`` in a daemon thread speaking HTTP/1.1 with keep-alive
(``Content-Length`` on JSON, chunked transfer for SSE).

>>> import httpx
>>> with FakeKimiServer([Reply.text("hello")]) as server:
...     r = httpx.post(f"{server.base_url}/chat/completions", json={"model": "m", "messages": []})
>>> r.json()["choices"][0]["message"]["content"]
'hello'
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast

import orjson

from agentkit._log import get_logger
from agentkit.testing._kimi_rules import CURRENT_MODELS, check_request, shape_reply
from agentkit.testing._kimi_wire import (
    Reply,
    completion_body,
    error_body,
    estimate_prompt_tokens,
    stream_events,
)
from agentkit.testing._script import ReplyScript
from agentkit.usage import PRICES

__all__ = ["FakeKimiServer", "RecordedRequest", "Responder", "Script", "echo"]

_log = get_logger("agentkit.testing")

#: A callable that plays the model: the parsed request body in, a reply out.
Responder = Callable[[dict[str, Any]], Reply]
#: What a `FakeKimiServer` answers from: replies in order, or a responder.
Script = Sequence[Reply] | Responder


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordedRequest:
    """One request the fake server received.

    ``headers`` has lower-cased names; ``body`` is the parsed JSON body
    (``None`` when empty or not JSON).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


def echo(body: dict[str, Any]) -> Reply:
    """Answer with the text of the last user message (the CLI's default)."""
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return Reply.text(str(message.get("content") or ""))
    return Reply.text("")


class FakeKimiServer:
    """A real HTTP server on loopback answering Chat Completions from ``script``.

    ``script`` is a sequence of replies used in order, or a callable
    ``(body) -> Reply``; replies queued with `add` are used first in
    either case. With ``mode="k2.6"`` the server also enforces today's Moonshot API before it
    answers (see `agentkit.testing._kimi_rules`): retired ids get a 404, and ``kimi-k2.6``/
    ``kimi-k2.5`` requests that set fixed sampling fields, force a tool while thinking, or drop
    ``reasoning_content`` from an assistant tool-call message get the 400 the real service
    gives; such a rejected request uses no scripted reply. When nothing is left, the server answers 500
    ``server_error`` saying the script is exhausted, and notes it in
    `problems`. The responder is called under a lock (one at a time);
    a reply's ``latency_s`` is slept outside it, so slow replies overlap.

    Attributes:
        requests: every request received, in order (only the last ``keep_requests``
            when that is set, as ``python -m agentkit.testing serve`` does).
        problems: what went wrong on the server side (script exhausted,
            responder raised); the ``fake_kimi`` fixture fails the test on
            teardown when this is not empty.
        connection_count: TCP connections accepted so far (keep-alive reuse
            keeps it low).
        balance: what ``GET /v1/users/me/balance`` reports (``available_balance``,
            ``voucher_balance``, ``cash_balance``); change it freely.

    """

    def __init__(
        self,
        script: Script = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_requests: int | None = None,
        mode: Literal["lenient", "k2.6"] = "lenient",
    ) -> None:
        self.mode = mode
        self._script = ReplyScript(
            script, server="FakeKimiServer", error_type="server_error", keep=keep_requests
        )
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self.requests: list[RecordedRequest] = self._script.requests
        self.problems: list[str] = self._script.problems
        self.connection_count = 0
        self.balance: dict[str, float] = {
            "available_balance": 49.58894,
            "voucher_balance": 46.58893,
            "cash_balance": 3.00001,
        }

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Bind and start serving in a daemon thread (no-op when already running)."""
        if self._httpd is not None:
            return
        httpd = _HTTPServer((self._host, self._port), self)
        self._wake = socket.socketpair()
        self._httpd = httpd
        self._thread = threading.Thread(target=self._serve, name=f"fake-kimi:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        httpd, thread, wake = self._httpd, self._thread, self._wake
        if httpd is None or thread is None or wake is None:
            return
        wake[1].send(b"x")
        thread.join()
        with self._lock:
            live = list(self._connections)
        for conn in live:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        for sock in wake:
            sock.close()
        self._httpd = self._thread = self._wake = None

    def __enter__(self) -> FakeKimiServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        httpd, wake = self._httpd, self._wake
        assert httpd is not None
        assert wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(httpd.socket, selectors.EVENT_READ)
            selector.register(wake[0], selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake[0]:
                        return
                    httpd.handle_request()

    # --- addresses ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._httpd is None:
            raise RuntimeError("FakeKimiServer is not running; call start() or use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What a client passes as ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    # --- script ---------------------------------------------------------------

    def add(self, *replies: Reply) -> None:
        """Queue more replies (they are used before a responder, in order)."""
        self._script.add(*replies)

    # --- bookkeeping used by the handler --------------------------------------

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._lock:
            self.connection_count += 1
            self._connections.add(conn)

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # 50+ clients connecting at once must not overflow the listen backlog (SYN retries cost 1 s).
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], fake: FakeKimiServer) -> None:
        self.fake = fake
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); a fake needs none.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exception()
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the client went away mid-answer: normal for cancelled or cut requests
        problem = f"fake server failed on a request from {client_address}: {exc!r}"
        with self.fake._script.lock:
            self.fake.problems.append(problem)
        _log.warning("fake_kimi.handler_failed", client=str(client_address), exc_info=True)


def _route(path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/")
    return path.removeprefix("/v1")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakeKimi/1.0"

    @property
    def fake(self) -> FakeKimiServer:
        return cast(_HTTPServer, self.server).fake

    def setup(self) -> None:
        super().setup()
        self.fake._connection_opened(self.connection)

    def finish(self) -> None:
        self.fake._connection_closed(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: no stderr line per request."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        raw = self._read_body()
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        number = self.fake._script.record(
            RecordedRequest(method=self.command, path=self.path, headers=headers, body=body)
        )
        route = (self.command, _route(self.path))
        if route == ("POST", "/chat/completions"):
            self._chat(body, number, malformed=bool(raw) and body is None)
        elif route == ("GET", "/models"):
            names = CURRENT_MODELS if self.fake.mode == "k2.6" else tuple(PRICES)
            self._send_json(200, orjson.dumps(_models_body(names)), number)
        elif route == ("GET", "/users/me/balance"):
            payload = {"code": 0, "data": dict(self.fake.balance), "scode": "0x0", "status": True}
            self._send_json(200, orjson.dumps(payload), number)
        elif route == ("POST", "/tokenizers/estimate-token-count"):
            total = estimate_prompt_tokens(body or {})
            self._send_json(200, orjson.dumps({"data": {"total_tokens": total}}), number)
        else:
            message = f"no route for {self.command} {self.path} on the fake Kimi server"
            self._send_json(404, error_body("resource_not_found_error", message), number)

    def _chat(self, body: dict[str, Any] | None, number: int, *, malformed: bool) -> None:
        if body is None:
            why = "the body is not a JSON object" if malformed else "the body is empty"
            self._send_json(400, error_body("invalid_request_error", why), number)
            return
        if self.fake.mode == "k2.6":
            rejected = check_request(body)
            if rejected is not None:
                payload = error_body(rejected.error_type or "", rejected.message or "")
                self._send_json(rejected.status, payload, number)
                return
        reply = self.fake._script.next_reply(body)
        if self.fake.mode == "k2.6":
            reply = shape_reply(reply, body)
        if reply.latency_s > 0:
            time.sleep(reply.latency_s)
        extra = dict(reply.headers)
        if reply.kind == "error":
            if reply.retry_after is not None:
                extra.setdefault("Retry-After", _number(reply.retry_after))
            payload = error_body(reply.error_type or "server_error", reply.message or "")
            self._send_json(reply.status, payload, number, extra)
        elif reply.kind == "raw":
            self._send_json(reply.status, reply.body, number, extra, content_type=reply.content_type)
        elif body.get("stream"):
            self._stream(reply, body, number, extra)
        else:
            payload = orjson.dumps(completion_body(reply, body, response_id=f"chatcmpl-fake{number:06d}"))
            self._send_json(200, payload, number, extra)

    def _start(self, status: int, number: int, extra: dict[str, str], content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        defaults = {"x-request-id": f"fake-req-{number:06d}", "Msh-Request-Id": f"fake-msh-{number:06d}"}
        overridden = {k.lower() for k in extra}
        for name, value in [
            *((k, v) for k, v in defaults.items() if k.lower() not in overridden),
            *extra.items(),
        ]:
            self.send_header(name, value)

    def _send_json(
        self,
        status: int,
        payload: bytes,
        number: int,
        extra: dict[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        self._start(status, number, extra or {}, content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, reply: Reply, body: dict[str, Any], number: int, extra: dict[str, str]) -> None:
        events = stream_events(reply, body, response_id=f"chatcmpl-fake{number:06d}")
        cut = reply.cut_stream_after
        if cut is not None:
            events = events[: min(cut, len(events) - 1)]  # never [DONE] when cut
        self._start(200, number, extra, "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for number_in_stream, event in enumerate(events):
            if reply.chunk_delay_s > 0 and number_in_stream:
                time.sleep(reply.chunk_delay_s)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        if cut is not None:
            # Drop the connection without the last chunk: the client sees an incomplete read.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _models_body(names: Sequence[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 0, "owned_by": "moonshot"} for name in names],
    }
