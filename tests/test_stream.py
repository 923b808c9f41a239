"""agent.stream(): live events in order, then the final result."""

from __future__ import annotations

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.events import (
    Event,
    FinalResultEvent,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.exceptions import ModelResponseError, UserError
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio


@tool
async def pause(seconds: float) -> str:
    """Pause."""
    await anyio.sleep(seconds)
    return f"paused {seconds}"


async def test_stream_yields_tool_and_text_events_then_the_result() -> None:
    """Tool calls start together, finish in completion order, and the answer text streams last."""
    model = ScriptedModel([calls(("pause", {"seconds": 0.1}), ("pause", {"seconds": 0.0})), "all done"])
    events: list[Event] = []
    async with Agent(model, tools=[pause]).stream("go") as run:
        async for event in run:
            events.append(event)
    assert [e.kind for e in events] == [
        "run_started",
        "model_call_started",
        "model_call_finished",
        "tool_call_started",
        "tool_call_started",
        "tool_call_finished",
        "tool_call_finished",
        "turn_finished",
        "model_call_started",
        "text_delta",
        "model_call_finished",
        "turn_finished",
        "final_result",
    ]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [f.result.content for f in finished] == ["paused 0.0", "paused 0.1"]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["all done"]
    assert sum(isinstance(e, TurnFinished) for e in events) == 2
    assert isinstance(events[-1], FinalResultEvent)
    assert run.result.output == "all done"
    assert isinstance(events[3], ToolCallStarted)


async def test_stream_raises_the_run_error() -> None:
    """An error that ends a streamed run is raised from the iteration."""

    async def consume() -> None:
        async with Agent(ScriptedModel([])).stream("go") as run:
            async for _ in run:
                pass

    with pytest.raises(ModelResponseError, match="no reply left"):
        await consume()


async def test_leaving_the_stream_early_cancels_the_run() -> None:
    """Breaking out of the ``async with`` block cancels the running tool, and ``result`` stays unset."""
    started, ended = anyio.Event(), []

    @tool
    async def wait_forever() -> str:
        """Wait until cancelled."""
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            ended.append("cancelled")
        return "never"

    async with Agent(
        ScriptedModel([calls(("wait_forever", {})), "unreachable"]), tools=[wait_forever]
    ).stream("go") as run:
        async for event in run:
            if isinstance(event, ToolCallStarted):
                await started.wait()
                break
    assert ended == ["cancelled"]
    with pytest.raises(UserError, match="not finished"):
        _ = run.result


async def test_events_wait_for_a_slow_consumer_and_arrive_whole() -> None:
    """A consumer that sleeps between events still receives every event once, in order."""
    model = ScriptedModel([calls(("pause", {"seconds": 0.0}), ("pause", {"seconds": 0.0})), "done"])
    fast: list[str] = []
    async with Agent(model, tools=[pause]).stream("go") as run:
        async for event in run:
            fast.append(event.kind)
    slow: list[str] = []
    model = ScriptedModel([calls(("pause", {"seconds": 0.0}), ("pause", {"seconds": 0.0})), "done"])
    async with Agent(model, tools=[pause]).stream("go") as run:
        async for event in run:
            slow.append(event.kind)
            await anyio.sleep(0.01)
    assert slow == fast
    assert slow[0] == "run_started"
    assert slow[-1] == "final_result"
