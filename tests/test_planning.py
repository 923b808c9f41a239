"""A visible plan: the update_plan tool, PlanUpdated events, and RunResult.plan."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent
from agentkit.events import PlanUpdated
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage
from agentkit.models.function import ScriptedModel, call
from agentkit.planning import PlanStep, current_plan, update_plan

pytestmark = pytest.mark.anyio


def _plan(*steps: tuple[str, str], explanation: str | None = None) -> Any:
    arguments: dict[str, Any] = {"steps": [{"step": s, "status": st} for s, st in steps]}
    if explanation is not None:
        arguments["explanation"] = explanation
    return call("update_plan", arguments)


async def test_plan_updates_stream_as_events_and_the_latest_is_on_the_result() -> None:
    """Each accepted update is a PlanUpdated event; RunResult.plan is the last one."""
    model = ScriptedModel(
        [
            _plan(("Search flights", "in_progress"), ("Book hotel", "pending")),
            _plan(("Search flights", "completed"), ("Book hotel", "completed"), explanation="All booked."),
            "Done.",
        ]
    )
    async with Agent(model, tools=[update_plan]).stream("Plan my trip") as run:
        updates = [e.plan for e in [e async for e in run] if isinstance(e, PlanUpdated)]
    assert [[s.status for s in p.steps] for p in updates] == [
        ["in_progress", "pending"],
        ["completed", "completed"],
    ]
    plan = run.result.plan
    assert plan is not None
    assert plan.steps == (
        PlanStep(step="Search flights", status="completed"),
        PlanStep(step="Book hotel", status="completed"),
    )
    assert plan.explanation == "All booked."


async def test_two_steps_in_progress_are_refused_and_the_plan_stays() -> None:
    """An update with two in_progress steps is an error result; the earlier plan is kept."""
    model = ScriptedModel(
        [
            _plan(("A", "in_progress"), ("B", "pending")),
            _plan(("A", "in_progress"), ("B", "in_progress")),
            "ok",
        ]
    )
    result = await Agent(model, tools=[update_plan]).run("go")
    refused = [m for m in result.messages if isinstance(m, ToolMessage) and m.is_error]
    assert len(refused) == 1
    assert "at most one in_progress" in refused[0].content
    assert result.plan is not None
    assert [s.status for s in result.plan.steps] == ["in_progress", "pending"]


async def test_without_the_tool_there_is_no_plan() -> None:
    """A run that never plans has plan None."""
    assert (await Agent(ScriptedModel(["hi"])).run("hello")).plan is None


def test_a_refused_plan_reusing_an_accepted_calls_id_is_not_the_plan() -> None:
    """A plan call whose result was an error does not count because an earlier call had its id."""
    accepted = ToolCall(id="functions.x:0", name="update_plan", arguments='{"steps": [{"step": "old"}]}')
    refused = ToolCall(id="functions.x:0", name="update_plan", arguments='{"steps": [{"step": "new"}]}')
    history: list[Message] = [
        AssistantMessage(tool_calls=(accepted,)),
        ToolMessage(tool_call_id="functions.x:0", name="update_plan", content="Plan updated."),
        AssistantMessage(tool_calls=(refused,)),
        ToolMessage(tool_call_id="functions.x:0", name="update_plan", content="refused", is_error=True),
    ]
    plan = current_plan(history)
    assert plan is not None
    assert [s.step for s in plan.steps] == ["old"]
