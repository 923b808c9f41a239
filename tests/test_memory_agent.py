"""Agent runs with session= continue stored conversations and store what they add."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agentkit import Agent, tool
from agentkit.exceptions import MaxTurnsExceeded
from agentkit.memory import InMemoryMemory, SQLiteMemory
from agentkit.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio


@tool
def lookup(city: str) -> str:
    """Look a city up.

    Args:
        city: the city's name.
    """
    return f"{city}: sunny"


async def test_two_runs_on_one_session_continue_the_conversation(tmp_path: Path) -> None:
    """The second run's request holds the first run's prompt, tool call, result and answer."""
    memory = SQLiteMemory(tmp_path / "a.db")
    model = ScriptedModel([calls(("lookup", {"city": "Osaka"})), "Sunny in Osaka.", "You asked about Osaka."])
    agent = Agent(model, instructions="Be brief.", tools=[lookup], memory=memory)
    await agent.run("Weather in Osaka?", session="alice")
    result = await agent.run("What did I ask?", session="alice")
    assert result.output == "You asked about Osaka."
    sent = model.requests[2].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[3] == ToolMessage(tool_call_id="functions.lookup:0", name="lookup", content="Osaka: sunny")
    stored = await memory.load("alice")
    assert not any(isinstance(m, SystemMessage) for m in stored)
    assert stored == list(result.messages[1:])
    memory.close()


async def test_a_second_agent_on_the_same_file_sees_the_session(tmp_path: Path) -> None:
    """A new Agent with a new SQLiteMemory on the same file continues where the first stopped."""
    first = Agent(ScriptedModel(["Noted: blue."]), memory=SQLiteMemory(tmp_path / "s.db"))
    await first.run("My favourite colour is blue.", session="bob")
    model = ScriptedModel(["Blue."])
    second = Agent(model, memory=SQLiteMemory(tmp_path / "s.db"))
    await second.run("What is my favourite colour?", session="bob")
    assert [m.content for m in model.requests[0].messages if isinstance(m, UserMessage)] == [
        "My favourite colour is blue.",
        "What is my favourite colour?",
    ]


async def test_sessions_do_not_see_each_other() -> None:
    """A run in one session is not sent the messages of another."""
    memory = InMemoryMemory()
    model = ScriptedModel(["one", "two"])
    agent = Agent(model, memory=memory)
    await agent.run("secret for alice", session="alice")
    await agent.run("hello", session="bob")
    assert [m.role for m in model.requests[1].messages] == ["user"]


async def test_a_failed_run_stores_its_turns_with_every_call_answered() -> None:
    """A run ending at max_turns still stores its turns, with no tool call left unanswered."""
    memory = InMemoryMemory()
    model = ScriptedModel([calls(("lookup", {"city": "A"})), calls(("lookup", {"city": "B"}))])
    with pytest.raises(MaxTurnsExceeded):
        await Agent(model, tools=[lookup], memory=memory, max_turns=2).run("go", session="s")
    stored = await memory.load("s")
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant", "tool"]


async def test_a_broken_stored_history_is_repaired_before_it_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An orphaned call gets an error result, a stray result is dropped, and a warning is logged."""
    memory = InMemoryMemory()
    await memory.append(
        "old",
        [
            UserMessage(content="from an old file"),
            AssistantMessage(tool_calls=(ToolCall(id="c1", name="lookup", arguments="{}"),)),
            UserMessage(content="next"),
            ToolMessage(tool_call_id="gone", name="lookup", content="stray"),
            AssistantMessage(content="ok"),
        ],
    )
    model = ScriptedModel(["fine"])
    with caplog.at_level(logging.WARNING, logger="agentkit.memory"):
        await Agent(model, memory=memory).run("continue", session="old")
    sent = model.requests[0].messages
    assert [m.role for m in sent] == ["user", "assistant", "tool", "user", "assistant", "user"]
    assert isinstance(sent[2], ToolMessage)
    assert (sent[2].tool_call_id, sent[2].is_error) == ("c1", True)
    warning = next(r for r in caplog.records if "history_repaired" in r.getMessage())
    assert warning.event_dict["orphaned_calls"] == 1  # type: ignore[attr-defined]  # set by agentkit._log
    assert warning.event_dict["orphaned_results"] == 1  # type: ignore[attr-defined]  # set by agentkit._log


async def test_streamed_runs_store_their_turns_too() -> None:
    """agent.stream(..., session=) stores the conversation like run()."""
    memory = InMemoryMemory()
    agent = Agent(ScriptedModel(["streamed answer"]), memory=memory)
    async with agent.stream("hi", session="s") as run:
        async for _ in run:
            pass
    assert [m.content for m in await memory.load("s")] == ["hi", "streamed answer"]
