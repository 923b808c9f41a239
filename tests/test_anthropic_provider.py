"""AnthropicCompatModel against the loopback fake Messages server: body shape, streaming, usage, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.events import ReasoningDelta, TextDelta
from agentkit.exceptions import ModelHTTPError, ModelResponseError, UserError
from agentkit.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.models import ModelRequest, ModelSettings, ToolDefinition
from agentkit.models.abstract import ModelResponse, ModelStreamEvent, ToolCallDelta
from agentkit.models.anthropic_compat import MOONSHOT_ANTHROPIC_PROFILE, AnthropicCompatModel
from agentkit.testing import FakeAnthropicServer, Reply
from agentkit.usage import PRICES, Usage, cost_usd

pytestmark = pytest.mark.anyio

KEY = "sk-ANTHROPIC-LEAKCHECK-0123456789"
MODEL = "kimi-k2-0905-preview"
FAST = replace(
    MOONSHOT_ANTHROPIC_PROFILE,
    retry=replace(MOONSHOT_ANTHROPIC_PROFILE.retry, base_delay_s=0.001, max_delay_s=0.05),
)
ADD = ToolDefinition(
    name="add",
    description="Add two numbers.",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: First.
        b: Second.
    """
    return a + b


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    """A running fake Messages server; the test fails if it saw a problem."""
    with FakeAnthropicServer() as fake:
        yield fake
    assert fake.problems == []


@pytest.fixture
async def model(server: FakeAnthropicServer) -> AsyncIterator[AnthropicCompatModel]:
    """An AnthropicCompatModel on the fake server with tiny retry delays."""
    async with AnthropicCompatModel(MODEL, base_url=server.base_url, api_key=KEY, profile=FAST) as m:
        yield m


def test_conversation_maps_to_messages_wire_shape() -> None:
    """System goes top-level, calls become tool_use, results one user turn of tool_result blocks."""
    model = AnthropicCompatModel(MODEL, base_url="http://127.0.0.1:9", api_key=KEY)
    calls = (
        ToolCall(id="functions.add:0", name="add", arguments='{"a": 1, "b": 2}'),
        ToolCall(id="functions.add:1", name="add", arguments='{"a": 3, "b": 4}'),
    )
    request = ModelRequest(
        messages=[
            SystemMessage(content="Be brief."),
            UserMessage(content="Sums?"),
            AssistantMessage(content="Adding.", tool_calls=calls, reasoning_content="Two sums."),
            ToolMessage(tool_call_id="functions.add:0", name="add", content="3"),
            ToolMessage(tool_call_id="functions.add:1", name="add", content="boom", is_error=True),
        ],
        tools=[ADD],
        tool_choice="required",
        settings=ModelSettings(max_tokens=100, stop=("END",)),
    )
    body = model.build_body(request, stream=False)
    assert body == {
        "model": MODEL,
        "max_tokens": 100,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Sums?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Two sums."},
                    {"type": "text", "text": "Adding."},
                    {"type": "tool_use", "id": "functions.add:0", "name": "add", "input": {"a": 1, "b": 2}},
                    {"type": "tool_use", "id": "functions.add:1", "name": "add", "input": {"a": 3, "b": 4}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "functions.add:0", "content": "3"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "functions.add:1",
                        "content": "boom",
                        "is_error": True,
                    },
                ],
            },
        ],
        "tools": [{"name": "add", "description": "Add two numbers.", "input_schema": dict(ADD.parameters)}],
        "tool_choice": {"type": "any"},
        "temperature": 1.0,
        "stop_sequences": ["END"],
    }


def test_tool_choice_and_refusals() -> None:
    """A tool name forces that tool; unknown names, builtins and response_format are refused."""
    model = AnthropicCompatModel(MODEL, base_url="http://127.0.0.1:9", api_key=KEY)
    ask = ModelRequest(messages=[UserMessage(content="hi")], tools=[ADD], tool_choice="add")
    assert model.build_body(ask, stream=True)["tool_choice"] == {"type": "tool", "name": "add"}
    assert model.build_body(ask, stream=True)["stream"] is True
    with pytest.raises(UserError, match="not one of the request's tools"):
        model.build_body(replace(ask, tool_choice="nope"), stream=False)
    builtin = ToolDefinition(name="$web_search", description="", parameters={}, kind="builtin_function")
    with pytest.raises(UserError, match="Kimi Chat Completions only"):
        model.build_body(replace(ask, tools=[builtin], tool_choice=None), stream=False)
    with pytest.raises(UserError, match="response_format"):
        model.build_body(replace(ask, response_format={"type": "json_object"}), stream=False)


async def test_complete_parses_parallel_tool_uses_and_usage(
    server: FakeAnthropicServer, model: AnthropicCompatModel
) -> None:
    """Two tool_use blocks become two calls; cache reads count as cached input and are priced as such."""
    server.add(Reply.tool_calls(("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4}), usage=(1000, 50, 600)))
    response = await model.complete(ModelRequest(messages=[UserMessage(content="Sums?")], tools=[ADD]))
    assert [(c.id, c.name, c.arguments) for c in response.message.tool_calls] == [
        ("toolu_0001_0", "add", '{"a":1,"b":2}'),
        ("toolu_0001_1", "add", '{"a":3,"b":4}'),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=1000, output_tokens=50, cached_tokens=600, requests=1)
    assert response.cost_usd == pytest.approx(cost_usd(response.usage, PRICES[MODEL]))
    assert response.request_id == "req_fake000001"
    sent = server.requests[0]
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.path == "/v1/messages"


async def test_stream_yields_deltas_then_the_same_response(
    server: FakeAnthropicServer, model: AnthropicCompatModel
) -> None:
    """Thinking, text and tool-input deltas stream in order; the final response matches a non-streamed one."""
    reply = Reply.tool_calls(("add", {"a": 1, "b": 2}), content="Let me add.", reasoning="Easy sum.")
    server.add(reply, reply)
    request = ModelRequest(messages=[UserMessage(content="1+2?")], tools=[ADD])
    events: list[ModelStreamEvent] = [e async for e in model.stream(request)]
    whole = await model.complete(request)
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me add."
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Easy sum."
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0].name == "add"
    assert "".join(d.arguments for d in deltas) == '{"a":1,"b":2}'
    assert final.message.content == whole.message.content
    assert final.message.reasoning_content == whole.message.reasoning_content
    assert [c.arguments for c in final.message.tool_calls] == [c.arguments for c in whole.message.tool_calls]
    assert final.usage == whole.usage
    assert final.message.extra == {"thinking_signature": "sig-1"}


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(529, "overloaded_error"), (500, "api_error"), (429, "rate_limit_error")],
)
async def test_retryable_errors_are_retried(
    server: FakeAnthropicServer, model: AnthropicCompatModel, status: int, error_type: str
) -> None:
    """Overload, server and rate-limit errors are retried under the profile's policy."""
    server.add(Reply.error(status, error_type, "try later"), Reply.text("fine"))
    response = await model.complete(ModelRequest(messages=[UserMessage(content="hi")]))
    assert response.message.content == "fine"
    assert response.retries == 1
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (429, "exceeded_current_quota_error"),
    ],
)
async def test_final_errors_raise_typed_exceptions(
    server: FakeAnthropicServer, model: AnthropicCompatModel, status: int, error_type: str
) -> None:
    """Request, auth and billing errors raise ModelHTTPError at once, never carrying the key."""
    server.add(Reply.error(status, error_type, f"bad key {KEY}"))
    with pytest.raises(ModelHTTPError) as info:
        await model.complete(ModelRequest(messages=[UserMessage(content="hi")]))
    assert (info.value.status_code, info.value.error_type) == (status, error_type)
    assert KEY not in str(info.value)
    assert info.value.request_id == "req_fake000001"
    assert len(server.requests) == 1


async def test_cut_stream_is_an_error_and_not_resent(
    server: FakeAnthropicServer, model: AnthropicCompatModel
) -> None:
    """A stream that ends before message_stop raises ModelResponseError; nothing is re-sent."""
    server.add(replace(Reply.text("partial answer here"), cut_stream_after=4))
    with pytest.raises(ModelResponseError, match="message_stop"):
        _ = [e async for e in model.stream(ModelRequest(messages=[UserMessage(content="hi")]))]
    assert len(server.requests) == 1


async def test_agent_runs_tools_over_the_messages_wire(
    server: FakeAnthropicServer, model: AnthropicCompatModel
) -> None:
    """An agent run sends tool results back as tool_result blocks matched to the tool_use ids."""
    server.add(Reply.tool_calls(("add", {"a": 2, "b": 3})), Reply.text("5"))
    result = await Agent(model, instructions="Use tools.", tools=[add]).run("2+3?")
    assert result.output == "5"
    second: Any = server.requests[1].body
    assert second["system"] == "Use tools."
    assert second["messages"][-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_0001_0", "content": "5"}],
    }


def test_missing_key_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without api_key= or a key in the environment the model refuses to be built."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("MOONSHOT_API_KEY", raising=False)
    with pytest.raises(UserError, match="no API key"):
        AnthropicCompatModel(MODEL)
