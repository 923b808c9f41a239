"""agentkit against the real llama-cpp-python server with SmolLM2-135M, on both model classes.

Each test starts from the defaults a user gets (``OpenAICompatModel`` with its default profile,
``KimiModel(base_url=...)`` with Kimi's), except where a test pins the capability table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Literal

import orjson
import pytest

from agentkit.exceptions import ModelConnectionError, ModelHTTPError
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from agentkit.models import (
    KIMI_PROFILE,
    LLAMA_CPP_PROFILE,
    KimiModel,
    ModelProfile,
    ModelRequest,
    OpenAICompatModel,
)
from agentkit.models.abstract import RetryPolicy, ServerCapabilities
from tests._llama_runs import SCENARIOS, SETTINGS, City, add, make_agent
from tests.builders import run_agent
from tests.conformance._llama import CONTEXT_TOKENS, MODEL_ALIAS, LlamaServer, free_port

pytestmark = pytest.mark.anyio

Kind = Literal["openai", "kimi"]
KINDS: tuple[Kind, ...] = ("openai", "kimi")
FAST = RetryPolicy(base_delay_s=0.01, max_delay_s=0.05)


def model_for(kind: Kind, server: LlamaServer, profile: ModelProfile | None = None) -> OpenAICompatModel:
    """``OpenAICompatModel`` or ``KimiModel`` on the server (a fast retry policy, else their defaults)."""
    if kind == "openai":
        base = profile or ModelProfile()
        return OpenAICompatModel(MODEL_ALIAS, base_url=server.base_url, profile=replace(base, retry=FAST))
    base = profile or KIMI_PROFILE
    return KimiModel(
        MODEL_ALIAS, base_url=server.base_url, api_key="not-needed", profile=replace(base, retry=FAST)
    )


@pytest.fixture(params=KINDS)
async def model(
    request: pytest.FixtureRequest, llama_server: LlamaServer
) -> AsyncIterator[OpenAICompatModel]:
    """Each model class on the llama server, closed after the test."""
    async with model_for(request.param, llama_server) as opened:
        yield opened


@pytest.mark.parametrize("stream", [False, True])
async def test_plain_text(model: OpenAICompatModel, stream: bool) -> None:
    """A tool-less question gets a non-empty text answer; a stream's missing usage is estimated."""
    result = await run_agent(
        make_agent(model, SCENARIOS["plain_text"]), SCENARIOS["plain_text"].prompt, stream=stream
    )
    assert isinstance(result.output, str)
    assert result.output.strip()
    assert result.usage.requests == 1
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0
    assert result.usage.estimated_requests == (1 if stream else 0)


@pytest.mark.parametrize("stream", [False, True])
async def test_three_turn_tool_run(model: OpenAICompatModel, stream: bool) -> None:
    """Two forced tool turns and a text turn complete: the tool-call turns go back as the server accepts."""
    scenario = SCENARIOS["three_turn_tools"]
    result = await run_agent(make_agent(model, scenario), scenario.prompt, stream=stream)
    assert result.turns == 3
    calls = [c for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [c.name for c in calls] == ["add", "add"]
    assert [r.is_error for r in results] == [False, False]
    for call, answer in zip(calls, results, strict=True):
        arguments = orjson.loads(call.arguments)
        assert orjson.loads(answer.content) == add.function(**arguments)
    assert isinstance(result.output, str)
    assert result.output.strip()


@pytest.mark.parametrize("stream", [False, True])
async def test_structured_output(model: OpenAICompatModel, stream: bool) -> None:
    """A forced final_result call gives output that validates as the declared type."""
    scenario = SCENARIOS["structured_output"]
    result = await run_agent(make_agent(model, scenario), scenario.prompt, stream=stream)
    assert isinstance(result.output, City)
    assert result.output.name.strip()
    assert result.turns == 1


async def test_required_is_refused_and_not_retried_four_times(llama_server: LlamaServer) -> None:
    """``"required"`` sent as is gets a 500 from this server: one retry, then a typed error."""
    async with model_for("openai", llama_server) as plain:
        agent = make_agent(plain, replace(SCENARIOS["three_turn_tools"], choices=()))
        with pytest.raises(ModelHTTPError) as info:
            await agent.run("Add 1 and 2.", tool_choice="required")
    assert info.value.status_code == 500
    assert info.value.retries == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_required_emulated_where_the_profile_says_so(llama_server: LlamaServer, kind: Kind) -> None:
    """With ``"required"`` emulated (LLAMA_CPP_PROFILE, Kimi's profile) the same run completes."""
    profile = LLAMA_CPP_PROFILE if kind == "openai" else None
    async with model_for(kind, llama_server, profile) as emulating:
        agent = make_agent(emulating, replace(SCENARIOS["three_turn_tools"], choices=()))
        result = await agent.run("Add 1 and 2.", tool_choice="required")
    assert isinstance(result.output, str)
    assert result.usage.requests >= 1


async def test_null_content_on_a_tool_call_turn_is_refused(llama_server: LlamaServer) -> None:
    """Why the default sends "": this server answers ``content: null`` beside tool calls with a 500."""
    null = ModelProfile(capabilities=ServerCapabilities(null_content_with_tool_calls=True))
    request = ModelRequest(
        messages=[
            UserMessage(content="Add 2 and 3."),
            AssistantMessage(tool_calls=(ToolCall(id="call_0", name="add", arguments='{"a": 2, "b": 3}'),)),
            ToolMessage(tool_call_id="call_0", name="add", content="5"),
        ],
        settings=SETTINGS,
    )
    async with model_for("openai", llama_server, null) as sends_null:
        with pytest.raises(ModelHTTPError) as info:
            await sends_null.complete(request)
    assert info.value.status_code == 500
    assert "valid string" in info.value.message
    async with model_for("openai", llama_server) as sends_empty:
        answer = await sends_empty.complete(request)
    assert answer.message.content


@pytest.mark.parametrize("kind", KINDS)
async def test_context_overflow_is_a_typed_error(llama_server: LlamaServer, kind: Kind) -> None:
    """A prompt past the context window is an HTTP error, not retried, with the server's words."""
    words = " ".join(f"word{i}" for i in range(CONTEXT_TOKENS * 2))
    async with model_for(kind, llama_server) as opened:
        with pytest.raises(ModelHTTPError) as info:
            await make_agent(opened, SCENARIOS["plain_text"]).run(words)
    assert info.value.status_code == 400
    assert "context" in info.value.message
    assert info.value.retries == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_server_down_is_a_connection_error(llama_server: LlamaServer, kind: Kind) -> None:
    """Nothing listening on loopback: a typed connection error at once (a refusal there is not retried)."""
    down = replace(llama_server, base_url=f"http://127.0.0.1:{free_port()}/v1")
    async with model_for(kind, down) as unreachable:
        with pytest.raises(ModelConnectionError, match="connection refused") as info:
            await make_agent(unreachable, SCENARIOS["plain_text"]).run("hello?")
    assert info.value.retries == 0
