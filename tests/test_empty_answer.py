"""An empty answer (no text, no reasoning, no tool calls) is a model error: asked again once, then typed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agentkit import Agent
from agentkit.events import TextDelta
from agentkit.exceptions import ModelEmptyResponseError
from agentkit.models import ModelProfile, OpenAICompatModel
from agentkit.models.abstract import RetryPolicy
from agentkit.models.anthropic_compat import ANTHROPIC_PROFILE, AnthropicCompatModel
from agentkit.testing import FakeAnthropicServer, FakeKimiServer, Reply
from tests.builders import run_agent

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(base_delay_s=0.001, max_delay_s=0.01)
ANTHROPIC_FAST = replace(ANTHROPIC_PROFILE, retry=FAST)
#: What a failing backend behind a proxy turns into: no content blocks, zero usage.
EMPTY = Reply.text("", usage=(0, 0, 0))


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_empty_answer_twice_is_a_typed_error(stream: bool) -> None:
    """Two empty Messages answers end the run with ModelEmptyResponseError, not output ""."""
    with FakeAnthropicServer([EMPTY, EMPTY, Reply.text("never reached")]) as server:
        model = AnthropicCompatModel("m", base_url=server.base_url, api_key="sk-a", profile=ANTHROPIC_FAST)
        agent = Agent(model)
        with pytest.raises(ModelEmptyResponseError) as info:
            await run_agent(agent, "hi", stream=stream)
        await model.aclose()
        assert len(server.requests) == 2
    assert info.value.retries == 1
    assert [m.role for m in info.value.messages] == ["user"]


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_empty_answer_once_is_asked_again(stream: bool) -> None:
    """One empty Messages answer is asked for again; the run ends with the second answer."""
    with FakeAnthropicServer([EMPTY, Reply.text("hello")]) as server:
        model = AnthropicCompatModel("m", base_url=server.base_url, api_key="sk-a", profile=ANTHROPIC_FAST)
        agent = Agent(model)
        if stream:
            async with agent.stream("hi") as run:
                deltas = [e.text async for e in run if isinstance(e, TextDelta)]
            result = run.result
            assert "".join(deltas) == "hello"
        else:
            result = await agent.run("hi")
        await model.aclose()
    assert result.output == "hello"
    assert result.usage.requests == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_compatible_empty_answer_is_a_model_error(stream: bool) -> None:
    """The same rule on Chat Completions: "" twice raises ModelEmptyResponseError after two requests."""
    with FakeKimiServer([Reply.text(""), Reply.text("")]) as server:
        async with OpenAICompatModel(
            "m", base_url=server.base_url, profile=ModelProfile(retry=FAST)
        ) as model:
            agent = Agent(model)
            with pytest.raises(ModelEmptyResponseError, match="empty answer"):
                await run_agent(agent, "hi", stream=stream)
        assert len(server.requests) == 2


async def test_reasoning_only_answer_is_not_empty() -> None:
    """An answer with reasoning but no text is the model's, not an empty one: it is not re-asked."""
    with FakeKimiServer([Reply.text("", reasoning="thinking...")]) as server:
        async with OpenAICompatModel(
            "m", base_url=server.base_url, profile=ModelProfile(retry=FAST)
        ) as model:
            result = await Agent(model).run("hi")
        assert len(server.requests) == 1
    assert result.output == ""


async def test_empty_answer_budget_zero_raises_at_once() -> None:
    """With empty_answer_retries=0 the first empty answer raises, and nothing is asked again."""
    profile = ModelProfile(retry=replace(FAST, empty_answer_retries=0))
    with FakeKimiServer([Reply.text(""), Reply.text("late")]) as server:
        async with OpenAICompatModel("m", base_url=server.base_url, profile=profile) as model:
            with pytest.raises(ModelEmptyResponseError):
                await Agent(model).run("hi")
        assert len(server.requests) == 1
