"""One contract for every Memory backend: InMemory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from agentkit.exceptions import SessionIdError, UserError
from agentkit.memory import Memory, Summary, SummaryMemory
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage
from tests._memory_backends import open_backend, tool_turn

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["in_memory", "sqlite", "postgres"])
async def memory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Memory]:
    """Each backend, fresh and empty."""
    async for backend in open_backend(request.param, tmp_path):
        yield backend


async def test_unknown_session_loads_empty(memory: Memory) -> None:
    """Loading a session nobody wrote returns an empty list, not an error."""
    assert await memory.load("nobody") == []
    assert await memory.list_sessions() == []


async def test_turns_load_back_in_order(memory: Memory) -> None:
    """Appended turns come back concatenated in the order they were appended."""
    first, second = tool_turn(0), tool_turn(1)
    await memory.append("alice", first)
    await memory.append("alice", second)
    assert await memory.load("alice") == [*first, *second]


async def test_every_field_survives_a_round_trip_exactly(memory: Memory) -> None:
    """Tool-call ids, reasoning_content, provider extras, names and error flags come back equal."""
    turn: list[Message] = [
        SystemMessage(content="sys"),
        UserMessage(content="héllo \u2603 \x00 end", name="bob"),
        AssistantMessage(
            content="",
            tool_calls=(
                ToolCall(id="functions.get_weather:0", name="get_weather", arguments='{"city": "大阪"}'),
                ToolCall(id="t-web_search-7f3a", name="$web_search", arguments="{}", type="builtin_function"),
            ),
            reasoning_content="let me think",
            name="planner",
            extra={"provider_field": {"nested": [1, 2.5, None, True]}, "x": "y"},
        ),
        ToolMessage(
            tool_call_id="functions.get_weather:0", name="get_weather", content="sunny", is_error=True
        ),
        ToolMessage(tool_call_id="t-web_search-7f3a", name="$web_search", content="{}"),
        AssistantMessage(content="Done", partial=True),
    ]
    await memory.append("s", turn)
    assert await memory.load("s") == turn


async def test_sessions_are_isolated_and_listed_sorted(memory: Memory) -> None:
    """Each session keeps only its own messages; list_sessions names each once, sorted."""
    await memory.append("zed", tool_turn(0))
    await memory.append("amy", tool_turn(1))
    await memory.append("zed", tool_turn(2))
    assert await memory.list_sessions() == ["amy", "zed"]
    assert await memory.load("amy") == tool_turn(1)
    assert await memory.load("zed") == [*tool_turn(0), *tool_turn(2)]


async def test_empty_append_creates_nothing(memory: Memory) -> None:
    """Appending no messages leaves the session absent."""
    await memory.append("ghost", [])
    assert await memory.list_sessions() == []


async def test_delete_removes_only_that_session(memory: Memory) -> None:
    """Delete forgets one session, leaves others, and is a no-op when repeated."""
    await memory.append("a", tool_turn(0))
    await memory.append("b", tool_turn(1))
    await memory.delete("a")
    await memory.delete("a")
    assert await memory.load("a") == []
    assert await memory.list_sessions() == ["b"]


async def test_fork_copies_and_then_diverges(memory: Memory) -> None:
    """A fork starts equal to its source; later appends to either do not reach the other."""
    await memory.append("main", tool_turn(0))
    await memory.fork("main", "branch")
    await memory.append("branch", tool_turn(1))
    await memory.append("main", tool_turn(2))
    assert await memory.load("branch") == [*tool_turn(0), *tool_turn(1)]
    assert await memory.load("main") == [*tool_turn(0), *tool_turn(2)]


async def test_fork_refuses_missing_source_and_existing_target(memory: Memory) -> None:
    """Forking from nothing, or onto an existing session, is a UserError and changes nothing."""
    await memory.append("a", tool_turn(0))
    await memory.append("b", tool_turn(1))
    with pytest.raises(UserError, match="no session"):
        await memory.fork("missing", "c")
    with pytest.raises(UserError, match="already exists"):
        await memory.fork("a", "b")
    assert await memory.load("b") == tool_turn(1)
    assert await memory.list_sessions() == ["a", "b"]


async def test_concurrent_appends_lose_no_turn_and_never_interleave(memory: Memory) -> None:
    """Forty turns appended concurrently are all stored, each one contiguous."""
    async with anyio.create_task_group() as group:
        for index in range(40):
            group.start_soon(memory.append, "busy", tool_turn(index, width=3))
    stored = await memory.load("busy")
    assert len(stored) == 40 * 5
    turns = [stored[i : i + 5] for i in range(0, len(stored), 5)]
    assert sorted(turns, key=_first_content) == sorted(
        (tool_turn(i, width=3) for i in range(40)), key=_first_content
    )


async def test_loaded_list_is_a_copy(memory: Memory) -> None:
    """Changing a loaded list does not change what is stored."""
    await memory.append("s", tool_turn(0))
    loaded = await memory.load("s")
    loaded.clear()
    assert await memory.load("s") == tool_turn(0)


def _first_content(turn: list[Message]) -> str:
    return str(turn[0].content)


async def test_a_summary_is_stored_beside_the_raw_turns(memory: Memory) -> None:
    """save_summary keeps the latest summary per session; load still returns every raw message."""
    assert isinstance(memory, SummaryMemory)
    turns = [*tool_turn(0), *tool_turn(1)]
    await memory.append("s", tool_turn(0))
    await memory.append("s", tool_turn(1))
    assert await memory.load_summary("s") is None
    first = Summary(covers=4, message=UserMessage(content="turn 0 summarised"))
    await memory.save_summary("s", first)
    assert await memory.load_summary("s") == first
    assert await memory.load("s") == turns
    later = Summary(covers=8, message=UserMessage(content="turns 0 and 1 summarised", name="x"))
    await memory.save_summary("s", later)
    await memory.save_summary("s", first)  # an older, shorter summary arriving late is ignored
    assert await memory.load_summary("s") == later
    assert await memory.load_summary("other") is None


async def test_fork_copies_and_delete_removes_the_summary(memory: Memory) -> None:
    """A fork starts with the source's summary; deleting a session deletes its summary too."""
    assert isinstance(memory, SummaryMemory)
    summary = Summary(covers=4, message=UserMessage(content="so far"))
    await memory.append("a", tool_turn(0))
    await memory.save_summary("a", summary)
    await memory.fork("a", "b")
    assert await memory.load_summary("b") == summary
    await memory.delete("a")
    assert await memory.load_summary("a") is None
    assert await memory.load("a") == []
    assert await memory.load_summary("b") == summary


@pytest.mark.parametrize("bad", ["", "a\x00b", "tab\there", "\x1b]52;c;aGk=\x07", "x" * 513])
async def test_a_bad_session_id_is_a_typed_error_in_every_backend(memory: Memory, bad: str) -> None:
    """NUL, other control characters, empty or overlong ids raise SessionIdError before any storage."""
    for operation in (
        memory.load(bad),
        memory.append(bad, tool_turn(0)),
        memory.delete(bad),
        memory.fork("ok", bad),
    ):
        with pytest.raises(SessionIdError):
            await operation
    assert await memory.list_sessions() == []
