"""Server capabilities as data: empty vs null content, stream usage, parallel calls, deterministic 500s."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from agentkit import Agent, tool
from agentkit.exceptions import ModelHTTPError, UsageLimitExceeded
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from agentkit.models import KIMI_PROFILE, ModelProfile, ModelRequest, OpenAICompatModel
from agentkit.models._openai_wire import parse_response
from agentkit.models.abstract import RetryPolicy, ServerCapabilities
from agentkit.models.kimi import WEB_SEARCH, KimiModel
from agentkit.models.openai_compat import same_failure, should_retry
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tokens import text_tokens
from agentkit.usage import Usage, UsageLimits
from tests.builders import run_agent
from tests.test_models_wire import WEATHER, body_for

pytestmark = pytest.mark.anyio

FAST_RETRY = RetryPolicy(base_delay_s=0.001, max_delay_s=0.01)
PLAIN_FAST = ModelProfile(retry=FAST_RETRY)
CALL = ToolCall(id="call_0", name="get_weather", arguments='{"city": "Oslo"}')


@tool
def get_weather(city: str) -> str:
    """Weather for a city.

    Args:
        city: City name.
    """
    return f"sunny in {city}"


def _tool_turn() -> ModelRequest:
    return ModelRequest(
        messages=[
            UserMessage(content="weather?"),
            AssistantMessage(content=None, tool_calls=(CALL,)),
            ToolMessage(tool_call_id="call_0", name="get_weather", content="sunny"),
        ],
        tools=[WEATHER],
    )


def test_tool_call_turn_sends_empty_content_by_default() -> None:
    """An assistant turn with tool calls and no text goes out with content "" (llama.cpp refuses null)."""
    for profile in (ModelProfile(), KIMI_PROFILE):
        assert body_for(_tool_turn(), profile)["messages"][1]["content"] == ""


def test_null_content_when_the_capability_says_so() -> None:
    """A profile whose server wants null gets content None on tool-call turns, still "" elsewhere."""
    profile = ModelProfile(capabilities=ServerCapabilities(null_content_with_tool_calls=True))
    request = replace(_tool_turn(), messages=[*_tool_turn().messages, AssistantMessage()])
    messages = body_for(request, profile)["messages"]
    assert messages[1]["content"] is None
    assert messages[3]["content"] == ""


def test_stream_options_and_parallel_calls_follow_the_capabilities() -> None:
    """stream_options is asked for unless the profile says not; parallel_tool_calls is sent only when set."""
    request = ModelRequest(messages=[UserMessage(content="hi")], tools=[WEATHER])
    default = body_for(request, ModelProfile(), stream=True)
    assert default["stream_options"] == {"include_usage": True}
    assert "parallel_tool_calls" not in default
    quiet = ModelProfile(capabilities=ServerCapabilities(stream_usage=False, parallel_tool_calls=False))
    body = body_for(request, quiet, stream=True)
    assert "stream_options" not in body
    assert body["parallel_tool_calls"] is False


def _sse(*chunks: dict[str, object]) -> bytes:
    lines = [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


def _text_stream_without_usage(text: str) -> Reply:
    """A stream like llama-cpp-python's: text chunks, a finish, and no usage chunk at all."""
    base = {"id": "c1", "object": "chat.completion.chunk", "model": "small"}
    return Reply.raw(
        200,
        _sse(
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ),
        content_type="text/event-stream",
    )


async def test_missing_stream_usage_is_estimated_and_marked() -> None:
    """A stream with no usage chunk gives estimated, non-zero tokens flagged by estimated_requests."""
    answer = "The weather in Oslo is sunny and mild today, with a light breeze."
    with FakeKimiServer([_text_stream_without_usage(answer)]) as server:
        async with OpenAICompatModel("small", base_url=server.base_url, profile=PLAIN_FAST) as model:
            result = await run_agent(Agent(model), "Weather in Oslo?", stream=True)
    usage = result.usage
    assert usage.estimated_requests == 1
    assert usage.output_tokens == text_tokens(answer) == 19  # agentkit.tokens' one estimate: 65 chars x 2/7
    assert usage.input_tokens > 0


async def test_token_limits_apply_to_estimated_usage() -> None:
    """A token limit still ends a run whose server reports no usage (the estimate passes it)."""
    with FakeKimiServer([_text_stream_without_usage("x" * 400)]) as server:
        async with OpenAICompatModel("small", base_url=server.base_url, profile=PLAIN_FAST) as model:
            agent = Agent(model)
            with pytest.raises(UsageLimitExceeded, match="output_tokens"):
                await run_agent(agent, "Say a lot.", stream=True, usage_limits=UsageLimits(output_tokens=50))


async def test_reported_usage_is_not_estimated() -> None:
    """A server that reports usage gets its own figures and estimated_requests stays 0."""
    with FakeKimiServer([Reply.text("hi", usage=(7, 3, 0))]) as server:
        async with OpenAICompatModel("small", base_url=server.base_url, profile=PLAIN_FAST) as model:
            result = await Agent(model).run("hi")
    assert result.usage == Usage(input_tokens=7, output_tokens=3, requests=1)


async def test_identical_500s_are_retried_once_only() -> None:
    """A 500 that comes back word for word is a deterministic failure: two attempts, not five."""
    failing = Reply.error(500, "server_error", "Input should be a valid string")
    with FakeKimiServer([failing] * 5) as server:
        async with OpenAICompatModel("small", base_url=server.base_url, profile=PLAIN_FAST) as model:
            with pytest.raises(ModelHTTPError) as info:
                await Agent(model, tools=[get_weather]).run("hi", tool_choice="required")
        assert len(server.requests) == 2
    assert info.value.retries == 1


async def test_varying_500s_keep_being_retried() -> None:
    """500s whose messages differ are passing faults: they are retried within the normal budget."""
    script = [Reply.error(500, "server_error", f"worker {i} crashed") for i in range(3)]
    with FakeKimiServer([*script, Reply.text("done")]) as server:
        async with OpenAICompatModel("small", base_url=server.base_url, profile=PLAIN_FAST) as model:
            result = await Agent(model).run("hi")
        assert len(server.requests) == 4
    assert result.output == "done"


def test_retry_rule_counts_repeats_of_500_only() -> None:
    """should_retry stops a 500 at max_identical_500s repeats; a 503 repeated is still retried."""
    policy = RetryPolicy()
    error = ModelHTTPError(status_code=500, error_type=None, message="boom")
    again = ModelHTTPError(status_code=500, error_type=None, message="boom")
    busy = ModelHTTPError(status_code=503, error_type=None, message="busy")
    assert same_failure(error, again)
    assert not same_failure(error, busy)
    assert should_retry(policy, error, repeats=1)
    assert not should_retry(policy, error, repeats=2)
    assert should_retry(policy, busy, repeats=4)


async def test_builtin_labelled_function_by_a_gateway_is_recognised() -> None:
    """A declared $web_search whose call comes back typed "function" is echoed and billed, not unknown."""
    args = {"search_result": {"search_id": "s-1"}}
    with FakeKimiServer([Reply.tool_calls((WEB_SEARCH, args)), Reply.text("Found it.")]) as server:
        profile = replace(KIMI_PROFILE, retry=FAST_RETRY)
        async with KimiModel(
            base_url=server.base_url, api_key="sk-test-gateway", profile=profile, builtin_tools=[WEB_SEARCH]
        ) as model:
            result = await Agent(model).run("search it")
    answer = result.messages[2]
    assert isinstance(answer, ToolMessage)
    assert not answer.is_error
    assert orjson.loads(answer.content) == args
    assert result.usage.web_searches == 1


def test_undeclared_builtin_name_is_left_alone() -> None:
    """Only builtins the request declared are recognised by name: a request without one changes nothing."""
    call = {"id": "c", "type": "function", "function": {"name": WEB_SEARCH, "arguments": "{}"}}
    data = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}
    declared = {"tools": [{"type": "builtin_function", "function": {"name": WEB_SEARCH}}], "messages": []}
    plain = parse_response(data, model_name="m", profile=ModelProfile(), wire_request={"messages": []})
    marked = parse_response(data, model_name="m", profile=ModelProfile(), wire_request=declared)
    assert plain.message.tool_calls[0].type == "function"
    assert marked.message.tool_calls[0].type == "builtin_function"
