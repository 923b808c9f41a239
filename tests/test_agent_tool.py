"""Agents as tools: sub-runs in parallel, shared limits and cost, parent ids, their own session."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from agentkit import Agent
from agentkit.events import Event, RunStarted
from agentkit.exceptions import UsageLimitExceeded
from agentkit.hooks import RunHooks
from agentkit.memory import SQLiteMemory
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.abstract import ModelRequest, ModelResponse
from agentkit.models.function import FunctionModel, ScriptedModel
from agentkit.usage import Usage, UsageLimits
from tests.builders import calls

pytestmark = pytest.mark.anyio


def _priced(text: str, cost: float) -> ModelResponse:
    return ModelResponse(
        message=AssistantMessage(content=text),
        finish_reason="stop",
        usage=Usage(input_tokens=10, output_tokens=5, requests=1),
        model_name="priced",
        cost_usd=cost,
    )


class Starts(RunHooks):
    """Keeps every RunStarted event."""

    def __init__(self) -> None:
        self.seen: list[RunStarted] = []

    def on_event(self, event: Event) -> None:
        """Keep run starts."""
        if isinstance(event, RunStarted):
            self.seen.append(event)


def _meeting(size: int) -> FunctionModel:
    """A model whose every request waits until ``size`` requests are in flight at once."""
    arrived = 0
    everyone = anyio.Event()

    async def answer(request: ModelRequest) -> ModelResponse:
        nonlocal arrived
        arrived += 1
        if arrived == size:
            everyone.set()
        with anyio.fail_after(2):
            await everyone.wait()
        task = request.messages[-1].content
        return _priced(f"report on {task}", 0.01)

    return FunctionModel(answer)


async def test_two_specialists_run_in_parallel_and_roll_up_usage_and_cost() -> None:
    """Both sub-runs are in flight together; their usage and cost land in the coordinator's result."""
    shared = _meeting(2)
    flights = Agent(shared, name="flights")
    hotels = Agent(shared, name="hotels")
    coordinator = Agent(
        ScriptedModel(
            [
                calls(("flights", {"task": "Paris flights"}), ("hotels", {"task": "Paris hotels"})),
                _priced("plan", 0.1),
            ]
        ),
        tools=[flights.as_tool(description="Finds flights."), hotels.as_tool(description="Finds hotels.")],
    )
    result = await coordinator.run("Plan Paris")
    reports = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert reports == ["report on Paris flights", "report on Paris hotels"]
    assert result.usage.requests == 4  # 2 coordinator turns + 1 per specialist
    assert result.cost_usd == pytest.approx(0.12)


async def test_sub_run_names_its_parent_run_and_tool_call() -> None:
    """The specialist's RunStarted carries the coordinator's run id and the calling tool call's id."""
    starts = Starts()
    specialist = Agent(ScriptedModel(["done"]), name="helper", hooks=[starts])
    coordinator = Agent(ScriptedModel([calls(("helper", {"task": "x"})), "ok"]), tools=[specialist.as_tool()])
    result = await coordinator.run("go")
    (started,) = starts.seen
    call = result.messages[1]
    assert isinstance(call, AssistantMessage)
    assert started.parent_run_id == result.run_id
    assert started.parent_tool_call_id == call.tool_calls[0].id


async def test_sub_runs_share_the_callers_limits() -> None:
    """A specialist spending the coordinator's request budget ends the coordinator's run."""
    looping = Agent(ScriptedModel([calls(("noop", {}))] * 5 + ["late"]), name="looper", tools=[_noop])
    coordinator = Agent(
        ScriptedModel([calls(("looper", {"task": "spin"})), "never"]), tools=[looping.as_tool()]
    )
    with pytest.raises(UsageLimitExceeded) as caught:
        await coordinator.run("go", usage_limits=UsageLimits(requests=3))
    failed = [m for m in caught.value.messages if isinstance(m, ToolMessage)]
    assert failed[0].is_error
    assert "UsageLimitExceeded" in failed[0].content


def _noop() -> str:
    """Do nothing."""
    return "ok"


async def test_specialist_keeps_its_own_session(tmp_path: Path) -> None:
    """With session=, each call of the agent tool continues the specialist's stored conversation."""
    memory = SQLiteMemory(tmp_path / "m.db")
    specialist = Agent(ScriptedModel(["first", "second"]), name="notes", memory=memory)
    tool = specialist.as_tool(session="notes-session")
    coordinator = Agent(
        ScriptedModel([calls(("notes", {"task": "one"})), "a", calls(("notes", {"task": "two"})), "b"]),
        tools=[tool],
    )
    await coordinator.run("go")
    await coordinator.run("again")
    stored = await memory.load("notes-session")
    assert [m.content for m in stored] == ["one", "first", "two", "second"]
