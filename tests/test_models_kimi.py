"""KimiModel / OpenAICompatModel against a real loopback fake Kimi server: sending, streaming, retries."""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from agentkit.events import TextDelta
from agentkit.exceptions import ModelConnectionError, ModelHTTPError, ModelResponseError, UserError
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage
from agentkit.models import KIMI_PROFILE, KimiModel, ModelRequest, OpenAICompatModel, ToolDefinition
from agentkit.models.abstract import ModelResponse, ModelStreamEvent, RetryPolicy, ToolCallDelta
from agentkit.models.kimi import KIMI_RETRY_POLICY
from agentkit.models.openai_compat import retry_delay_s, server_wait_s, should_retry
from agentkit.testing import FakeKimiServer, Reply
from agentkit.usage import PRICES, cost_usd

pytestmark = pytest.mark.anyio

KEY = "sk-LEAKCHECK-0123456789abcdef"
FAST = replace(KIMI_PROFILE, retry=replace(KIMI_RETRY_POLICY, base_delay_s=0.001, max_delay_s=0.05))
ADD = ToolDefinition(
    name="add",
    description="Add two numbers.",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)
ASK = ModelRequest(messages=[UserMessage(content="1+2?")], tools=[ADD])


def kimi(server: FakeKimiServer, **kwargs: Any) -> KimiModel:
    """Return a KimiModel on the fake server with tiny retry delays."""
    kwargs.setdefault("profile", FAST)
    return KimiModel("kimi-k2-0905-preview", base_url=server.base_url, api_key=KEY, **kwargs)


async def collect(model: KimiModel, request: ModelRequest) -> list[ModelStreamEvent]:
    """Return every event a stream yields (closing the model afterwards)."""
    async with model:
        return [event async for event in model.stream(request)]


async def drain(model: KimiModel, request: ModelRequest, into: list[ModelStreamEvent]) -> None:
    """Append every event of a stream to ``into`` (so events before a failure are kept)."""
    async for event in model.stream(request):
        into.append(event)


def free_port() -> int:
    """Return a loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- sending and the body the server saw -----------------------------------------------------------


async def test_complete_sends_exact_body_and_parses_answer(fake_kimi: FakeKimiServer) -> None:
    """complete() posts the mapped JSON body with the bearer key and returns the priced answer."""
    fake_kimi.add(Reply.tool_calls(("add", {"a": 1, "b": 2}), usage=(1000, 100, 200)))
    history: list[Message] = [
        UserMessage(content="hi"),
        AssistantMessage(
            content="",
            tool_calls=(ToolCall(id="functions.add:0", name="add", arguments='{"a":0}'),),
            reasoning_content="thinking...",
        ),
        ToolMessage(tool_call_id="functions.add:0", name="add", content="0"),
    ]
    async with kimi(fake_kimi) as model:
        response = await model.complete(ModelRequest(messages=history, tools=[ADD]))
    [seen] = fake_kimi.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == {
        "model": "kimi-k2-0905-preview",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "functions.add:0",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a":0}'},
                    }
                ],
                "reasoning_content": "thinking...",
            },
            {"role": "tool", "tool_call_id": "functions.add:0", "name": "add", "content": "0"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "add",
                    "description": "Add two numbers.",
                    "parameters": dict(ADD.parameters),
                },
            }
        ],
        "temperature": 0.6,
        "max_tokens": 4096,
    }
    assert response.message.tool_calls == (
        ToolCall(id="functions.add:1", name="add", arguments='{"a":1,"b":2}'),
    )
    assert response.finish_reason == "tool_calls"
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.cached_tokens) == (
        1000,
        100,
        200,
    )
    assert response.cost_usd == pytest.approx((200 * 0.15 + 800 * 0.60 + 100 * 2.50) / 1e6)
    assert response.cost_usd == pytest.approx(cost_usd(response.usage, PRICES["kimi-k2-0905-preview"]))
    assert response.request_id == "fake-req-000001"


async def test_required_tool_choice_emulated_on_the_wire(fake_kimi: FakeKimiServer) -> None:
    """tool_choice="required" reaches Kimi as no tool_choice plus the nudge user message."""
    fake_kimi.add(Reply.text("ok"))
    async with kimi(fake_kimi) as model:
        await model.complete(replace(ASK, tool_choice="required"))
    body = fake_kimi.requests[0].body
    assert body is not None
    assert "tool_choice" not in body
    assert body["messages"][-1] == {
        "role": "user",
        "content": "Please select a tool to handle the current issue.",
    }


async def test_injected_http_client_is_used(fake_kimi: FakeKimiServer) -> None:
    """A caller's httpx2.AsyncClient carries the request (its default headers reach the server)."""
    fake_kimi.add(Reply.text("hello"))
    async with httpx2.AsyncClient(headers={"x-probe": "yes"}) as client:
        response = await kimi(fake_kimi, http_client=client).complete(ASK)
    assert response.message.content == "hello"
    assert fake_kimi.requests[0].headers["x-probe"] == "yes"


async def test_generic_model_without_kimi_rules(fake_kimi: FakeKimiServer) -> None:
    """OpenAICompatModel sends no defaults it was not given and passes "required" through."""
    fake_kimi.add(Reply.text("fine"))
    async with OpenAICompatModel("qwen", base_url=fake_kimi.base_url, api_key="x") as model:
        response = await model.complete(replace(ASK, tool_choice="required"))
    body = fake_kimi.requests[0].body
    assert body is not None
    assert body["tool_choice"] == "required"
    assert "temperature" not in body
    assert response.cost_usd == 0.0
    assert response.message.content == "fine"


async def test_malformed_body_is_a_response_error(fake_kimi: FakeKimiServer) -> None:
    """A 200 answer that is not JSON raises ModelResponseError quoting it, without retrying."""
    fake_kimi.add(Reply.raw(200, b"<html>gateway hiccup</html>", "text/html"))
    async with kimi(fake_kimi) as model:
        with pytest.raises(ModelResponseError, match="gateway hiccup"):
            await model.complete(ASK)
    assert len(fake_kimi.requests) == 1


# --- streaming -------------------------------------------------------------------------------------


async def test_stream_yields_deltas_then_response(fake_kimi: FakeKimiServer) -> None:
    """A stream yields text and tool-call deltas, then a response assembled like a non-stream one."""
    fake_kimi.add(Reply.tool_calls(("add", {"a": 1, "b": 2}), content="Sure.", usage=(50, 10, 0)))
    events = await collect(kimi(fake_kimi), ASK)
    body = fake_kimi.requests[0].body
    assert body is not None
    assert body["stream"] is True
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Sure."
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(index=0, id="functions.add:0", name="add", arguments="")
    assert "".join(d.arguments for d in deltas) == '{"a":1,"b":2}'
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert final.message.content == "Sure."
    assert final.message.tool_calls == (
        ToolCall(id="functions.add:0", name="add", arguments='{"a":1,"b":2}'),
    )
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.requests) == (50, 10, 1)
    assert final.request_id == "fake-req-000001"


async def test_stream_usage_in_choice_kimi_style(fake_kimi: FakeKimiServer) -> None:
    """Usage sent in choices[0].usage of the last chunk (Kimi without include_usage) is counted."""
    fake_kimi.add(Reply.text("hi", reasoning="hmm", usage=(30, 5, 10)))
    model = kimi(fake_kimi, settings=None)
    request = replace(ASK, settings=replace(ASK.settings, extra_body={"stream_options": None}))
    events = await collect(model, request)
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert (final.usage.input_tokens, final.usage.cached_tokens) == (30, 10)
    assert final.message.reasoning_content == "hmm"


async def test_stream_cut_midway_is_not_resent(fake_kimi: FakeKimiServer) -> None:
    """A stream that breaks after it started raises ModelResponseError and is never re-sent."""
    fake_kimi.add(Reply.text("a long answer", cut_stream_after=3), Reply.text("second"))
    received: list[ModelStreamEvent] = []
    async with kimi(fake_kimi) as model:
        with pytest.raises(ModelResponseError, match="stream"):
            await drain(model, ASK, received)
    assert received, "some deltas arrived before the cut"
    assert len(fake_kimi.requests) == 1
    fake_kimi.add()  # the unused second reply stays queued: not a problem


async def test_stream_error_before_start_is_retried(fake_kimi: FakeKimiServer) -> None:
    """An error status before the stream starts is retried like a non-streamed one."""
    fake_kimi.add(Reply.error(503, "server_error", "down"), Reply.text("back"))
    events = await collect(kimi(fake_kimi), ASK)
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert final.message.content == "back"
    assert final.retries == 1
    assert len(fake_kimi.requests) == 2


# --- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (429, "rate_limit_reached_error"),
        (429, "engine_overloaded_error"),
        (500, "server_error"),
        (502, "bad_gateway"),
        (504, "gateway_timeout"),
    ],
)
async def test_retryable_errors_are_retried(
    fake_kimi: FakeKimiServer, status: int, error_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Rate limits, overload and 5xx are retried; the server sees the retry and the answer wins."""
    caplog.set_level(logging.DEBUG, logger="agentkit")
    fake_kimi.add(Reply.error(status, error_type, "try later"), Reply.text("done"))
    async with kimi(fake_kimi) as model:
        response = await model.complete(ASK)
    assert response.message.content == "done"
    assert response.retries == 1  # what the trace and the model-call span report
    assert len(fake_kimi.requests) == 2
    assert [entry["event"] for entry in events(caplog)] == ["model.retry"]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (429, "exceeded_current_quota_error"),
        (400, "content_filter"),
        (400, "invalid_request_error"),
        (401, "invalid_authentication_error"),
        (403, "permission_denied_error"),
        (404, "resource_not_found_error"),
    ],
)
async def test_final_errors_are_not_retried(fake_kimi: FakeKimiServer, status: int, error_type: str) -> None:
    """Quota, content filter and 4xx errors raise at once as ModelHTTPError with the wire's details."""
    fake_kimi.add(Reply.error(status, error_type, "no way"))
    async with kimi(fake_kimi) as model:
        with pytest.raises(ModelHTTPError) as caught:
            await model.complete(ASK)
    assert len(fake_kimi.requests) == 1
    error = caught.value
    assert error.retries == 0
    assert (error.status_code, error.error_type, error.message) == (status, error_type, "no way")
    assert error.request_id == "fake-req-000001"
    assert error.model_name == "kimi-k2-0905-preview"


async def test_retries_stop_after_max_retries(fake_kimi: FakeKimiServer) -> None:
    """After max_retries retries the last error is raised (max_retries + 1 requests in all)."""
    profile = replace(FAST, retry=replace(FAST.retry, max_retries=2))
    fake_kimi.add(*[Reply.error(500, "server_error", f"boom {i}") for i in range(3)])
    async with kimi(fake_kimi, profile=profile) as model:
        with pytest.raises(ModelHTTPError, match="boom 2") as caught:
            await model.complete(ASK)
    assert len(fake_kimi.requests) == 3
    assert caught.value.retries == 2


async def test_retry_after_header_is_honoured(fake_kimi: FakeKimiServer) -> None:
    """A Retry-After of 0.2 s makes the retry wait at least that long, whatever the backoff."""
    profile = replace(FAST, retry=replace(FAST.retry, max_delay_s=1.0))
    fake_kimi.add(
        Reply.error(429, "rate_limit_reached_error", "slow down", retry_after=0.2), Reply.text("ok")
    )
    async with kimi(fake_kimi, profile=profile) as model:
        start = time.monotonic()
        await model.complete(ASK)
        assert time.monotonic() - start >= 0.19  # asyncio may wake up to its clock resolution early
    assert len(fake_kimi.requests) == 2


def test_server_stated_waits_and_backoff() -> None:
    """Retry-After and "try again after N seconds" set the delay (capped); otherwise jittered backoff."""
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=30.0)
    assert server_wait_s({"retry-after": "7"}, "") == 7.0
    assert server_wait_s({}, "Your account reached max RPM, please try again after 3 seconds") == 3.0
    assert server_wait_s({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, "", now=1445412480.0) == 10.0
    assert server_wait_s({}, "busy") is None
    assert retry_delay_s(policy, 0, 7.0) == 7.0
    assert retry_delay_s(policy, 0, 90.0) == 30.0
    assert retry_delay_s(policy, 3, rand=lambda: 0.0) == 2.0
    assert retry_delay_s(policy, 3, rand=lambda: 1.0) == 4.0
    assert retry_delay_s(policy, 10, rand=lambda: 1.0) == 30.0


def test_retry_rules_follow_the_kimi_table() -> None:
    """should_retry says yes to 429 rate/overload, 5xx and connection errors, no to quota and 4xx."""

    def http(status: int, kind: str) -> ModelHTTPError:
        return ModelHTTPError(status_code=status, error_type=kind, message="")

    policy = KIMI_RETRY_POLICY
    assert should_retry(policy, http(429, "rate_limit_reached_error"))
    assert should_retry(policy, http(429, "engine_overloaded_error"))
    assert should_retry(policy, http(503, "server_error"))
    assert should_retry(policy, ModelConnectionError("refused"))
    assert not should_retry(policy, http(429, "exceeded_current_quota_error"))
    assert not should_retry(policy, http(400, "content_filter"))
    assert not should_retry(policy, http(401, "invalid_authentication_error"))
    assert not should_retry(replace(policy, retry_connection_errors=False), ModelConnectionError("x"))


async def test_refused_on_loopback_fails_at_once_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listening on 127.0.0.1: one attempt, no retries, and the error says it was refused."""
    caplog.set_level(logging.DEBUG, logger="agentkit")
    profile = replace(FAST, retry=replace(FAST.retry, max_retries=2))
    model = KimiModel(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=KEY, profile=profile)
    async with model:
        with pytest.raises(ModelConnectionError, match="connection refused") as caught:
            await model.complete(ASK)
    assert caught.value.retries == 0
    assert not caught.value.retryable
    assert [entry for entry in events(caplog) if entry["event"] == "model.retry"] == []


async def test_dropped_connections_are_retried_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A server that accepts and hangs up is retried per the policy, then raised as ModelConnectionError."""
    caplog.set_level(logging.DEBUG, logger="agentkit")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        stop = threading.Event()

        def hang_up() -> None:
            server.settimeout(0.1)
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                connection.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        profile = replace(FAST, retry=replace(FAST.retry, max_retries=2))
        model = KimiModel(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, profile=profile)
        try:
            async with model:
                with pytest.raises(ModelConnectionError) as caught:
                    await model.complete(ASK)
        finally:
            stop.set()
            thread.join()
    assert caught.value.retryable
    assert [entry["attempt"] for entry in events(caplog) if entry["event"] == "model.retry"] == [1, 2]


# --- the key never leaks ---------------------------------------------------------------------------


def events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Return the structured event dicts agentkit logged (``record.event_dict``)."""
    return [r.__dict__["event_dict"] for r in caplog.records if "event_dict" in r.__dict__]


def chain_text(error: BaseException) -> str:
    """Return the formatted traceback of ``error`` plus str/repr of every exception in its chain."""
    parts = ["".join(traceback.format_exception(error))]
    seen: BaseException | None = error
    while seen is not None:
        parts += [str(seen), repr(seen), repr(vars(seen)) if hasattr(seen, "__dict__") else ""]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


async def test_api_key_never_leaks(fake_kimi: FakeKimiServer, caplog: pytest.LogCaptureFixture) -> None:
    """The key appears in no exception text, cause/context chain, repr, stdlib log or structlog event."""
    caplog.set_level(logging.DEBUG)
    fake_kimi.add(
        Reply.error(429, "engine_overloaded_error", f"busy for key {KEY}"),
        Reply.error(401, "invalid_authentication_error", f"Invalid key {KEY}"),
    )
    model = kimi(fake_kimi)
    dead = KimiModel(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=KEY, profile=FAST)
    texts = [repr(model), repr(dead)]
    async with model, dead:
        with pytest.raises(ModelHTTPError) as http_error:
            await model.complete(ASK)
        with pytest.raises(ModelConnectionError) as conn_error:
            await dead.complete(ASK)
    logs = events(caplog)
    assert "[redacted]" in http_error.value.message
    texts += [chain_text(http_error.value), chain_text(conn_error.value)]
    texts += [repr(entry) for entry in logs] + [caplog.text]
    texts += [r.getMessage() + repr(r.args) for r in caplog.records]
    assert logs, "retries were logged"
    for text in texts:
        assert KEY not in text
        assert KEY[6:20] not in text


async def test_missing_key_is_a_user_error_at_the_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key KimiModel can be built (a module-level agent imports); its first request says why not."""
    monkeypatch.delenv("MOONSHOT_API_KEY", raising=False)
    model = KimiModel()  # no error: the CLI may still point the agent at a local server
    with pytest.raises(UserError, match="MOONSHOT_API_KEY"):
        model.check_key()
    async with model:
        with pytest.raises(UserError, match="MOONSHOT_API_KEY"):
            await model.complete(ASK)


def test_environment_configures_key_url_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """MOONSHOT_API_KEY, MOONSHOT_BASE_URL and MOONSHOT_MODEL are read when no argument is given."""
    monkeypatch.setenv("MOONSHOT_API_KEY", KEY)
    monkeypatch.setenv("MOONSHOT_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MOONSHOT_MODEL", "kimi-k2-thinking")
    model = KimiModel()
    assert model.model_name == "kimi-k2-thinking"
    assert model.base_url.startswith("http://127.0.0.1:9/v1")
    assert model.profile.default_temperature == 1.0
    assert model.context_window == 262_144
    monkeypatch.delenv("MOONSHOT_BASE_URL")
    assert KimiModel("kimi-k2-0711-preview").base_url.startswith("https://api.moonshot.ai/v1")
