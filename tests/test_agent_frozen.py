"""Agent is a frozen configuration; every entry point runs a prepared Run (resume streams, too)."""

from __future__ import annotations

import pytest

from agentkit import Agent, tool
from agentkit.approval import approve_all
from agentkit.events import FinalResultEvent, ToolCallFinished
from agentkit.testing import ScriptedModel, call
from agentkit.tool import Toolset

pytestmark = pytest.mark.anyio

SENT: list[str] = []


@tool(requires_approval=True)
def send(to: str) -> str:
    """Send a note.

    Args:
        to: The recipient.
    """
    SENT.append(to)
    return f"sent to {to}"


@tool
def other(x: int) -> int:
    """Another tool.

    Args:
        x: A number.
    """
    return x


def test_public_attributes_cannot_drift_from_what_runs_use() -> None:
    """Setting toolset, name, memory or tool_choice raises and points at replace(); nothing changes."""
    agent = Agent(ScriptedModel(["hi"]), tools=[send], name="mailer")
    for attribute, value in (
        ("toolset", Toolset([other])),
        ("name", "x"),
        ("memory", None),
        ("tool_choice", "none"),
    ):
        with pytest.raises(AttributeError, match=rf"use agent.replace\({attribute}="):
            setattr(agent, attribute, value)
    assert [t.name for t in agent.toolset] == ["send"]
    assert agent.name == "mailer"


def test_replace_renames_and_as_tool_follows() -> None:
    """replace(name=..., tool_choice=...) gives an agent whose as_tool() and runs use the new values."""
    agent = Agent(ScriptedModel(["hi"]), name="mailer")
    renamed = agent.replace(name="postman", tool_choice="none")
    assert (renamed.name, renamed.tool_choice, agent.name, agent.tool_choice) == (
        "postman",
        "none",
        "mailer",
        None,
    )
    assert renamed.as_tool().name == "postman"


async def test_a_replaced_toolset_is_the_one_the_run_uses() -> None:
    """The run calls the tool the agent reports (the bug: a set attribute answered 'Unknown tool')."""
    agent = Agent(ScriptedModel([call("other", {"x": 3}), "3"]), tools=[send]).replace(tools=[other])
    result = await agent.run("go")
    assert result.output == "3"
    assert [t.name for t in agent.toolset] == ["other"]


async def test_resume_streams_like_stream() -> None:
    """A paused run resumed with resume_stream yields the tool call's events and the final result."""
    SENT.clear()
    agent = Agent(ScriptedModel([call("send", {"to": "bob"}), "done"]), tools=[send])
    paused = await agent.run("note bob")
    assert paused.state is not None
    events = []
    async with agent.resume_stream(paused.state, approve=approve_all) as run:
        async for event in run:
            events.append(event)
    assert run.result.output == "done"
    assert SENT == ["bob"]
    assert any(isinstance(e, ToolCallFinished) and e.call.name == "send" for e in events)
    assert isinstance(events[-1], FinalResultEvent)
