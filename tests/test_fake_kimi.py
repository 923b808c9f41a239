"""The loopback fake Kimi server, its wire format, its CLI and the plugin's network block (plain httpx)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentkit.testing import FakeKimiServer, NetworkBlockedError, RecordedRequest, Reply
from agentkit.testing.__main__ import main

pytest_plugins = ["pytester"]

_REAL_GETADDRINFO = socket.getaddrinfo  # captured at import, before the plugin's guard is installed


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """Yield a plain httpx client, closed after the test."""
    with httpx.Client(timeout=5.0) as c:
        yield c


def _chat(client: httpx.Client, server: FakeKimiServer, **body: Any) -> httpx.Response:
    payload = {"model": "kimi-k2-0905-preview", "messages": [{"role": "user", "content": "hi"}], **body}
    return client.post(f"{server.base_url}/chat/completions", json=payload)


def _sse(client: httpx.Client, server: FakeKimiServer, **body: Any) -> tuple[httpx.Response, list[str]]:
    payload = {"model": "kimi-k2-0905-preview", "messages": [{"role": "user", "content": "hi"}], **body}
    with client.stream("POST", f"{server.base_url}/chat/completions", json={**payload, "stream": True}) as r:
        data = [line.removeprefix("data: ") for line in r.iter_lines() if line.startswith("data: ")]
    return r, data


def _chunks(data: list[str]) -> list[dict[str, Any]]:
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


# --- non-streaming -----------------------------------------------------------


def test_text_reply_body_has_kimi_shape(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """A text reply comes back as a chat.completion with the request's model and Kimi-style usage."""
    fake_kimi.add(Reply.text("Bonjour"))
    messages = [{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 8}]
    r = _chat(client, fake_kimi, messages=messages)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "kimi-k2-0905-preview"
    assert isinstance(body["created"], int)
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "Bonjour"}
    assert body["usage"] == {
        "prompt_tokens": 48 // 4 + 10,
        "completion_tokens": 1,
        "total_tokens": 23,
        "cached_tokens": 0,
    }


def test_reasoning_and_usage_override(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """reasoning_content appears only when given, and a usage override is sent as is."""
    fake_kimi.add(Reply.text("42", reasoning="think", finish_reason="length", usage=(100, 7, 64)))
    body = _chat(client, fake_kimi).json()
    choice = body["choices"][0]
    assert choice["message"]["reasoning_content"] == "think"
    assert choice["finish_reason"] == "length"
    assert body["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "total_tokens": 107,
        "cached_tokens": 64,
    }


def test_tool_calls_encode_dicts_and_keep_strings_verbatim(
    fake_kimi: FakeKimiServer, client: httpx.Client
) -> None:
    """Dict arguments are JSON-encoded, string arguments (even malformed) are sent byte for byte."""
    fake_kimi.add(
        Reply.tool_calls(("get_weather", {"city": "Paris"}), ("get_time", '{"tz": "CET"'), ("", '"{}"'))
    )
    choice = _chat(client, fake_kimi).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"index": 0, "id": "functions.get_weather:0", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        {"index": 1, "id": "functions.get_time:1", "type": "function",
         "function": {"name": "get_time", "arguments": '{"tz": "CET"'}},
        {"index": 2, "id": "functions.:2", "type": "function", "function": {"name": "", "arguments": '"{}"'}},
    ]  # fmt: skip


def test_tool_call_ids_count_across_the_conversation(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """The idx in functions.NAME:IDX continues after the tool calls already in the request's history."""
    history = [
        {"role": "user", "content": "plan"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "functions.a:0", "type": "function", "function": {"name": "a", "arguments": "{}"}},
            {"id": "functions.b:1", "type": "function", "function": {"name": "b", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "functions.a:0", "content": "1"},
        {"role": "tool", "tool_call_id": "functions.b:1", "content": "2"},
        {"role": "assistant", "content": "ok"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "functions.c:2", "type": "function", "function": {"name": "c", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "functions.c:2", "content": "3"},
    ]  # fmt: skip
    fake_kimi.add(Reply.tool_calls(("search", {}), ("search", {})), Reply.tool_calls(("search", {})))
    calls = _chat(client, fake_kimi, messages=history).json()["choices"][0]["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["functions.search:3", "functions.search:4"]
    _, data = _sse(client, fake_kimi, messages=history[:2])
    ids = [
        tc["id"] for c in _chunks(data) for tc in c["choices"][0]["delta"].get("tool_calls", []) if "id" in tc
    ]
    assert ids == ["functions.search:2"]


def test_raw_reply_sends_exact_bytes(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """A raw reply's status, bytes and content type reach the client unchanged."""
    fake_kimi.add(Reply.raw(200, b'{"choices": [', "application/json; charset=utf-8"))
    r = _chat(client, fake_kimi)
    assert (r.status_code, r.content, r.headers["content-type"]) == (
        200,
        b'{"choices": [',
        "application/json; charset=utf-8",
    )


# --- streaming ---------------------------------------------------------------


def _assert_chunk_envelope(chunk: dict[str, Any]) -> None:
    assert chunk["id"].startswith("chatcmpl-")
    assert chunk["object"] == "chat.completion.chunk"
    assert chunk["model"] == "kimi-k2-0905-preview"
    assert isinstance(chunk["created"], int)


def test_stream_chunks_follow_kimi_order_and_shape(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """A stream sends role, reasoning, content, per-call id/name + 2+ argument fragments, then usage."""
    fake_kimi.add(
        Reply.tool_calls(
            ("get_weather", {"city": "Paris"}), ("f", "{}"), content="Let me check.", reasoning="hmm ok"
        )
    )
    r, data = _sse(client, fake_kimi)
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["transfer-encoding"] == "chunked"
    chunks = _chunks(data)
    for chunk in chunks:
        _assert_chunk_envelope(chunk)
    assert len({c["id"] for c in chunks}) == 1
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert deltas[0] == {"role": "assistant"}
    kinds = [next(iter(d)) for d in deltas[1:]]
    assert kinds == sorted(kinds, key=["reasoning_content", "content", "tool_calls"].index)
    assert "".join(d["reasoning_content"] for d in deltas if "reasoning_content" in d) == "hmm ok"
    content = [d["content"] for d in deltas if "content" in d]
    assert len(content) > 1
    assert "".join(content) == "Let me check."
    calls = [d["tool_calls"] for d in deltas if "tool_calls" in d]
    assert all(len(tc) == 1 for tc in calls)
    for index, (name, args) in enumerate([("get_weather", '{"city":"Paris"}'), ("f", "{}")]):
        parts = [tc[0] for tc in calls if tc[0]["index"] == index]
        assert parts[0] == {"index": index, "id": f"functions.{name}:{index}", "type": "function",
                            "function": {"name": name, "arguments": ""}}  # fmt: skip
        assert len(parts) >= 3
        assert all(set(p) == {"index", "function"} and set(p["function"]) == {"arguments"} for p in parts[1:])
        assert "".join(p["function"]["arguments"] for p in parts) == args
    final = chunks[-1]["choices"][0]
    assert final["delta"] == {}
    assert final["finish_reason"] == "tool_calls"
    assert (
        final["usage"]["total_tokens"]
        == final["usage"]["prompt_tokens"] + final["usage"]["completion_tokens"]
    )
    assert final["usage"]["cached_tokens"] == 0
    assert "usage" not in chunks[-1]


def test_stream_include_usage_sends_openai_usage_chunk(
    fake_kimi: FakeKimiServer, client: httpx.Client
) -> None:
    """With stream_options.include_usage, usage moves to a last chunk with no choices and top-level usage."""
    fake_kimi.add(Reply.text("hi there", usage=(20, 3, 5)))
    _, data = _sse(client, fake_kimi, stream_options={"include_usage": True})
    chunks = _chunks(data)
    finish = chunks[-2]["choices"][0]
    assert finish["finish_reason"] == "stop"
    assert "usage" not in finish
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 20,
        "completion_tokens": 3,
        "total_tokens": 23,
        "cached_tokens": 5,
    }


def test_cut_stream_drops_connection_without_done(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """cut_stream_after=N sends N events then closes mid-body, so the client sees an incomplete read."""
    fake_kimi.add(Reply.text("a long enough answer", cut_stream_after=2), Reply.text("next"))
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream(
            "POST", f"{fake_kimi.base_url}/chat/completions", json={"stream": True, "messages": []}
        ) as r,
    ):
        received.extend(line for line in r.iter_lines() if line.startswith("data: "))
    assert len(received) == 2
    assert "[DONE]" not in "".join(received)
    assert _chat(client, fake_kimi).json()["choices"][0]["message"]["content"] == "next"


# --- errors, latency, script -------------------------------------------------


def test_error_reply_with_retry_after(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """An error reply has Kimi's error body, its status, a Retry-After header and the request-id headers."""
    fake_kimi.add(
        Reply.error(429, "rate_limit_reached_error", "please try again after 3 seconds", retry_after=3)
    )
    r = _chat(client, fake_kimi)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.headers["x-request-id"]
    assert r.headers["msh-request-id"]
    assert r.json() == {
        "error": {"type": "rate_limit_reached_error", "message": "please try again after 3 seconds"}
    }


def test_extra_headers_override_defaults(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """Reply headers are sent and replace a default header of the same name, case-insensitively."""
    fake_kimi.add(Reply.text("x", headers={"X-Request-Id": "req-1", "x-trace-id": "t-9"}))
    r = _chat(client, fake_kimi)
    assert r.headers.get_list("x-request-id") == ["req-1"]
    assert r.headers["x-trace-id"] == "t-9"
    assert r.headers["msh-request-id"].startswith("fake-")


def test_latency_delays_an_answer(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """latency_s holds an answer back for at least that long."""
    fake_kimi.add(Reply.text("late", latency_s=0.3))
    started = time.perf_counter()
    assert _chat(client, fake_kimi).json()["choices"][0]["message"]["content"] == "late"
    assert time.perf_counter() - started >= 0.3


def test_slow_replies_are_served_while_another_request_is_in_progress(fake_kimi: FakeKimiServer) -> None:
    """With one request stalled half-sent, four concurrent slow replies are all still answered."""
    fake_kimi.add(*(Reply.text(f"r{i}", latency_s=0.05) for i in range(4)))

    def call(_: int) -> str:
        with httpx.Client(timeout=10.0) as c:  # a deadlock breaker: a one-by-one server never answers
            return str(_chat(c, fake_kimi).json()["choices"][0]["message"]["content"])

    with socket.create_connection(("127.0.0.1", fake_kimi.port)) as stalled:
        head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
        stalled.sendall(head.encode())  # and never the body: its handler waits for it until we hang up
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = sorted(pool.map(call, range(4)))
    assert answers == ["r0", "r1", "r2", "r3"]


def test_concurrent_requests_each_consume_one_reply(fake_kimi: FakeKimiServer) -> None:
    """Under concurrent load every scripted reply is used exactly once and every request is recorded."""
    fake_kimi.add(*(Reply.text(str(i)) for i in range(40)))
    with httpx.Client(timeout=5.0) as c, concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: _chat(c, fake_kimi).json()["choices"][0]["message"]["content"], range(40))
        )
    assert sorted(answers, key=int) == [str(i) for i in range(40)]
    assert len(fake_kimi.requests) == 40


def test_exhausted_script_answers_500_and_records_problem(client: httpx.Client) -> None:
    """With no reply left the server answers 500 server_error saying so, and lists it in problems."""
    with FakeKimiServer([Reply.text("only")]) as server:
        assert _chat(client, server).status_code == 200
        r = _chat(client, server)
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert "script exhausted" in r.json()["error"]["message"]
    assert len(server.problems) == 1
    assert "exhausted" in server.problems[0]


def test_responder_gets_body_and_queued_replies_come_first(client: httpx.Client) -> None:
    """A callable script sees the parsed request body; replies added with add() are used before it."""
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> Reply:
        seen.append(body)
        return Reply.text(f"{len(body['messages'])} messages")

    with FakeKimiServer(responder) as server:
        server.add(Reply.error(503, "server_error", "blip"))
        assert _chat(client, server).status_code == 503
        assert _chat(client, server).json()["choices"][0]["message"]["content"] == "1 messages"
    assert seen == [{"model": "kimi-k2-0905-preview", "messages": [{"role": "user", "content": "hi"}]}]


def test_responder_exception_becomes_500_and_problem(client: httpx.Client) -> None:
    """A responder that raises yields a 500 naming the exception, and the server keeps serving."""

    def responder(body: dict[str, Any]) -> Reply:
        raise KeyError("boom")

    with FakeKimiServer(responder) as server:
        r = _chat(client, server)
        assert r.status_code == 500
        assert "KeyError" in r.json()["error"]["message"]
        assert client.get(f"{server.base_url}/models").status_code == 200
    assert server.problems == ["responder raised KeyError: 'boom'"]


def test_non_json_body_is_400(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """A chat request whose body is not a JSON object gets 400 invalid_request_error and uses no reply."""
    r = client.post(f"{fake_kimi.base_url}/chat/completions", content=b"{nope", headers={"content-type": "x"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert fake_kimi.problems == []


# --- routes, recording, lifecycle ---------------------------------------------


def test_other_routes(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """Models list, token estimate and the un-prefixed chat path work; unknown paths are Kimi-style 404s."""
    models = client.get(f"{fake_kimi.base_url}/models").json()
    assert "kimi-k2-0905-preview" in [m["id"] for m in models["data"]]
    body = {"model": "m", "messages": [{"role": "user", "content": "z" * 400}]}
    estimate = client.post(f"{fake_kimi.base_url}/tokenizers/estimate-token-count", json=body)
    assert estimate.json() == {"data": {"total_tokens": 110}}
    fake_kimi.add(Reply.text("root"))
    root = f"http://127.0.0.1:{fake_kimi.port}"
    assert (
        client.post(f"{root}/chat/completions", json=body).json()["choices"][0]["message"]["content"]
        == "root"
    )
    missing = client.get(f"{fake_kimi.base_url}/files")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "resource_not_found_error"
    assert "/v1/files" in missing.json()["error"]["message"]


def test_requests_are_recorded_in_order(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """Every request is recorded with method, path, lower-cased headers and parsed body."""
    fake_kimi.add(Reply.text("a"))
    _chat(client, fake_kimi, temperature=0.6)
    client.get(f"{fake_kimi.base_url}/models?x=1", headers={"Authorization": "Bearer sk-test"})
    first, second = fake_kimi.requests
    assert first.method == "POST"
    assert first.path == "/v1/chat/completions"
    assert first.body is not None
    assert first.body["temperature"] == 0.6
    assert second == RecordedRequest(method="GET", path="/v1/models?x=1", headers=second.headers, body=None)
    assert second.headers["authorization"] == "Bearer sk-test"
    assert all(name == name.lower() for name in second.headers)
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.method = "PUT"  # type: ignore[misc]  # proving the record is frozen


def test_a_long_running_server_keeps_only_the_latest_requests(client: httpx.Client) -> None:
    """With keep_requests, memory stays bounded (the serve CLI keeps 100); numbering counts them all."""
    with FakeKimiServer(lambda body: Reply.text("ok"), keep_requests=2) as server:
        for n in range(5):
            _chat(client, server, messages=[{"role": "user", "content": f"q{n}"}])
        kept = [r.body["messages"][0]["content"] for r in server.requests if r.body is not None]
        assert kept == ["q3", "q4"]
    with FakeKimiServer([Reply.text("only")], keep_requests=1) as server:
        _chat(client, server)
        assert _chat(client, server).status_code == 500
        assert server.problems == ["script exhausted: no reply left for request #2"]


def test_keep_alive_reuses_one_connection(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """JSON and streamed answers keep the connection open, so one httpx client uses one connection."""
    fake_kimi.add(Reply.text("one"), Reply.text("two"), Reply.text("three"))
    _chat(client, fake_kimi)
    _sse(client, fake_kimi)
    _chat(client, fake_kimi)
    assert fake_kimi.connection_count == 1


def test_lifecycle(client: httpx.Client) -> None:
    """base_url names the bound port; stop is idempotent and closes the port; a stopped server has no port."""
    server = FakeKimiServer([Reply.text("x")])
    server.start()
    server.start()
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    url = server.base_url
    assert _chat(client, server).status_code == 200
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port
    with pytest.raises(httpx.TransportError):
        client.get(f"{url}/models")


# --- the network block ----------------------------------------------------------


def test_network_block_refuses_non_loopback_before_connecting() -> None:
    """Non-loopback addresses and names are refused with the plugin's error before any packet leaves."""
    with socket.socket() as s:
        with pytest.raises(NetworkBlockedError, match=r"block network access to 10\.255\.255\.1"):
            s.connect(("10.255.255.1", 80))
        assert s.getsockname()[1] == 0  # a connection attempt would have bound a local port
    with socket.socket(socket.AF_INET6) as s:
        with pytest.raises(NetworkBlockedError):
            s.connect_ex(("2001:db8::1", 80))
        assert s.getsockname()[1] == 0
    with pytest.raises(NetworkBlockedError, match="use the fake_kimi fixture"):
        httpx.get("https://api.moonshot.ai/v1/models")
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)


def test_network_block_allows_loopback_and_socketpair(fake_kimi: FakeKimiServer) -> None:
    """Loopback by address and by name, and AF_UNIX socket pairs, still work while the block is on."""
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"ping")
        assert b.recv(4) == b"ping"
    for host in ("127.0.0.1", "localhost"):
        r = httpx.get(f"http://{host}:{fake_kimi.port}/v1/models")
        assert r.status_code == 200


@pytest.mark.anyio
async def test_network_block_under_anyio(fake_kimi: FakeKimiServer) -> None:
    """Async clients reach the fake server but not the internet, and the event loop itself is unaffected."""
    fake_kimi.add(Reply.text("async"))
    async with httpx.AsyncClient(base_url=fake_kimi.base_url, timeout=5.0) as c:
        r = await c.post("/chat/completions", json={"model": "m", "messages": []})
        assert r.json()["choices"][0]["message"]["content"] == "async"
        with pytest.raises(NetworkBlockedError):
            await c.get("https://api.moonshot.ai/v1/models")


@pytest.mark.allow_network
def test_allow_network_marker_lifts_the_block() -> None:
    """Under @pytest.mark.allow_network the real socket functions are in place."""
    assert socket.getaddrinfo is _REAL_GETADDRINFO
    assert "connect" not in socket.socket.__dict__


def test_block_is_installed_during_tests() -> None:
    """Without the marker the socket functions are wrapped."""
    assert socket.getaddrinfo is not _REAL_GETADDRINFO
    assert "connect" in socket.socket.__dict__


# --- the serve CLI ---------------------------------------------------------------


def test_serve_cli_runs_in_a_subprocess_until_sigterm(client: httpx.Client) -> None:
    """`python -m agentkit.testing serve` prints base_url, answers via the script module, exits on SIGTERM."""
    command = [
        sys.executable,
        "-m",
        "agentkit.testing",
        "serve",
        "--port",
        "0",
        "--script-module",
        "agentkit.testing:echo",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:  # noqa: S603 - fixed argv
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            assert base_url.endswith("/v1")
            body = {"model": "m", "messages": [{"role": "user", "content": "echo me"}]}
            r = client.post(f"{base_url}/chat/completions", json=body)
            assert r.json()["choices"][0]["message"]["content"] == "echo me"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.stderr is not None
        assert proc.stderr.read() == ""


def test_serve_cli_rejects_a_bad_script_module(capsys: pytest.CaptureFixture[str]) -> None:
    """A --script-module that is not 'module:function' or not callable exits with status 2 and says why."""
    assert main(["serve", "--script-module", "no_colon"]) == 2
    assert "module:function" in capsys.readouterr().err
    assert main(["serve", "--script-module", "agentkit.testing:__all__"]) == 2
    assert "not callable" in capsys.readouterr().err


def test_client_going_away_is_not_a_problem(fake_kimi: FakeKimiServer, client: httpx.Client) -> None:
    """A client that gives up before a slow streamed answer leaves no problem; the server serves on."""
    fake_kimi.add(Reply.text("slow " * 200, latency_s=0.2), Reply.text("fine"))
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.05) as impatient:
        _sse(impatient, fake_kimi)
    time.sleep(0.35)  # let the handler wake up and write into the closed connection
    assert _chat(client, fake_kimi).json()["choices"][0]["message"]["content"] == "fine"
    assert fake_kimi.problems == []


def test_fixture_fails_the_test_on_server_problems(pytester: pytest.Pytester) -> None:
    """A test whose fake_kimi script ran out passes its body but errors at teardown, naming the problem."""
    pytester.makepyfile(
        """
        import httpx

        def test_forgot_a_reply(fake_kimi):
            r = httpx.post(fake_kimi.base_url + "/chat/completions", json={"messages": []})
            assert r.status_code == 500
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fake_kimi server problems*", "*script exhausted*"])


@pytest.mark.allow_network  # the inner sessions run in this process: keep the outer guard off
def test_session_flag_lifts_the_block(pytester: pytest.Pytester) -> None:
    """--agentkit-allow-network leaves the socket functions unwrapped for every test of the session."""
    pytester.makepyfile(
        """
        import socket

        def test_unwrapped():
            assert "connect" not in socket.socket.__dict__

        """
    )
    pytester.makeini("[pytest]\nagentkit_block_network = true\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--agentkit-allow-network").assert_outcomes(
        passed=1
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(failed=1)


_UNWRAPPED_TEST = """
import socket
import pytest

def test_unwrapped():
    assert "connect" not in socket.socket.__dict__

@pytest.mark.block_network
def test_wrapped_by_marker():
    assert "connect" in socket.socket.__dict__
"""


@pytest.mark.allow_network  # the inner sessions run in this process: keep the outer guard off
def test_block_is_opt_in_for_other_projects(pytester: pytest.Pytester) -> None:
    """A project that installs agentkit keeps its network until it opts in (ini, flag or marker)."""
    pytester.makepyfile(_UNWRAPPED_TEST)
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--agentkit-block-network").assert_outcomes(
        passed=1, failed=1
    )
    pytester.makeini("[pytest]\nagentkit_block_network = true\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)


def test_ipv6_loopback_host() -> None:
    """A server bound to ::1 brackets the host in base_url and answers over IPv6."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = FakeKimiServer([Reply.text("v6")], host="::1")
        server.start()
    except OSError as exc:  # IPv6 compiled in but not configured
        pytest.skip(f"cannot bind ::1: {exc}")
    with server, httpx.Client(timeout=5.0) as c:
        assert server.base_url == f"http://[::1]:{server.port}/v1"
        assert _chat(c, server).json()["choices"][0]["message"]["content"] == "v6"
