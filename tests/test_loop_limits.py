"""Limits end a run with a typed error that keeps the conversation, never a dangling tool call."""

from __future__ import annotations

import anyio
import pytest

from agentkit import Agent, UsageLimits, tool
from agentkit.exceptions import MaxTurnsExceeded, RunError, UsageLimitExceeded
from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.models.abstract import ModelResponse
from agentkit.models.function import ScriptedModel
from agentkit.usage import Usage
from tests.builders import calls

pytestmark = pytest.mark.anyio


@tool
async def wait(seconds: float) -> str:
    """Wait."""
    await anyio.sleep(seconds)
    return "waited"


def looping_model(turns: int) -> ScriptedModel:
    """A model that asks for one tool call per turn, ``turns`` times."""
    return ScriptedModel([calls(("wait", {"seconds": 0})) for _ in range(turns)])


def assert_no_dangling_calls(messages: tuple[Message, ...]) -> None:
    """Every tool call in ``messages`` has a result, and every result a call."""
    call_ids = {c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls}
    result_ids = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    assert call_ids == result_ids


async def test_max_turns_raises_with_messages() -> None:
    """A model that never answers hits max_turns; the error carries the whole conversation."""
    with pytest.raises(MaxTurnsExceeded) as info:
        await Agent(looping_model(10), tools=[wait], max_turns=3).run("go")
    assert sum(isinstance(m, AssistantMessage) for m in info.value.messages) == 3
    assert_no_dangling_calls(info.value.messages)


async def test_request_limit() -> None:
    """A requests limit stops the run before the model is called again."""
    model = looping_model(10)
    with pytest.raises(UsageLimitExceeded, match="requests"):
        await Agent(model, tools=[wait], usage_limits=UsageLimits(requests=2)).run("go")
    assert len(model.requests) == 2


async def test_tool_call_limit_answers_the_unrun_calls() -> None:
    """Exceeding the tool-call limit ends the run and the unrun calls get explanatory results."""
    model = ScriptedModel([calls(*[("wait", {"seconds": 0})] * 3)])
    with pytest.raises(UsageLimitExceeded, match="tool_calls") as info:
        await Agent(model, tools=[wait], usage_limits=UsageLimits(tool_calls=2)).run("go")
    assert_no_dangling_calls(info.value.messages)


async def test_token_and_cost_limits() -> None:
    """Token and cost limits are checked against each response's usage and price."""
    expensive = ModelResponse(
        message=AssistantMessage(content="pricey"),
        finish_reason="stop",
        usage=Usage(input_tokens=900, output_tokens=200, requests=1),
        model_name="m",
        cost_usd=0.5,
    )
    with pytest.raises(UsageLimitExceeded, match="total_tokens"):
        await Agent(ScriptedModel([expensive]), usage_limits=UsageLimits(total_tokens=1000)).run("go")
    with pytest.raises(UsageLimitExceeded, match="cost_usd"):
        await Agent(ScriptedModel([expensive]), usage_limits=UsageLimits(cost_usd=0.25)).run("go")


async def test_wall_clock_timeout_closes_running_calls() -> None:
    """The run's time limit cancels a slow tool; its call is answered and the error is typed."""
    model = ScriptedModel([calls(("wait", {"seconds": 5}))])
    with pytest.raises(UsageLimitExceeded, match="time limit") as info:
        await Agent(model, tools=[wait]).run("go", timeout_s=0.1)
    assert_no_dangling_calls(info.value.messages)
    assert isinstance(info.value, RunError)
