"""Agent.replace and Agent.override: a derived agent with another model, toolset, memory or instructions."""

from __future__ import annotations

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.memory import InMemoryMemory
from agentkit.models.function import ScriptedModel, call

pytestmark = pytest.mark.anyio


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def mul(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


async def test_replace_tools_swaps_the_whole_toolset_and_keeps_the_rest() -> None:
    """The derived agent offers only the new tools and keeps the instructions; the original keeps its own."""
    original = Agent(ScriptedModel(["unused"]), instructions="Be exact.", tools=[add], max_turns=2)
    model = ScriptedModel([call("mul", {"a": 6, "b": 7}), "42"])
    derived = original.replace(model=model, tools=[mul])
    result = await derived.run("6 * 7?")
    assert result.output == "42"
    assert [t.name for t in derived.toolset] == ["mul"]
    assert [t.name for t in original.toolset] == ["add"]
    assert original.model is not derived.model
    first = model.requests[0]
    assert first.messages[0].content == "Be exact."
    assert [t.name for t in first.tools] == ["mul"]


async def test_replace_instructions_and_memory() -> None:
    """New instructions reach the model; a new memory stores the derived agent's sessions only."""
    original = Agent(ScriptedModel(["a"]), instructions="Old.")
    memory = InMemoryMemory()
    model = ScriptedModel(["b"])
    derived = original.replace(model=model, instructions="New.", memory=memory)
    await derived.run("hi", session="s1")
    assert model.requests[0].messages[0].content == "New."
    assert len(await memory.load("s1")) == 2
    assert original.memory is None


async def test_override_swaps_the_model_for_code_that_holds_the_agent() -> None:
    """Inside override(), run and stream of the same agent use the scripted model; after it, the old one."""
    agent = Agent(ScriptedModel(["live", "live again"]), instructions="Be brief.")
    with agent.override(model=ScriptedModel(["scripted", "streamed"])):
        assert (await agent.run("Hi")).output == "scripted"
        async with agent.stream("Hi") as run:
            async for _ in run:
                pass
        assert run.result.output == "streamed"
    assert (await agent.run("Hi")).output == "live"


async def test_override_reaches_tasks_started_inside_it_and_nests() -> None:
    """Tasks started in the block see the override; an inner override wins and is undone on exit."""
    agent = Agent(ScriptedModel(["never used"]))
    outputs: list[str] = []

    async def application_task() -> None:
        outputs.append((await agent.run("Hi")).output)

    with agent.override(model=ScriptedModel(["outer", "outer again"])):
        async with anyio.create_task_group() as tg:
            tg.start_soon(application_task)
        with agent.override(model=ScriptedModel(["inner"])):
            await application_task()
        await application_task()
    assert outputs == ["outer", "inner", "outer again"]
