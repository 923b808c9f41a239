"""Concurrency of tool calls within one turn: parallel, capped, sequential barriers, isolation."""

from __future__ import annotations

import threading

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel
from tests.builders import Rendezvous, calls

pytestmark = pytest.mark.anyio


@tool
async def nap(seconds: float) -> str:
    """Sleep asynchronously."""
    await anyio.sleep(seconds)
    return "rested"


def four_calls(name: str) -> ScriptedModel:
    """A model asking for four parallel calls of ``name``, then answering."""
    return ScriptedModel([calls(*[(name, {})] * 4), "done"])


async def test_four_async_tools_run_concurrently() -> None:
    """Four async tools are all in flight at once: each waits until the other three have started."""
    meeting = Rendezvous(4)

    @tool
    async def meet() -> str:
        """Wait until all four calls have started."""
        await meeting.arrive()
        return "met"

    result = await Agent(four_calls("meet"), tools=[meet]).run("meet")
    assert [m.content for m in result.messages if isinstance(m, ToolMessage)] == ["met"] * 4
    assert result.usage.tool_calls == 4


async def test_four_sync_tools_run_concurrently_in_threads() -> None:
    """Four blocking tools run in worker threads, all at once (a thread barrier), off the loop's thread."""
    barrier = threading.Barrier(4, timeout=10.0)  # a deadlock breaker, not a speed limit

    @tool
    def meet_in_thread() -> str:
        """Block until all four calls have started; answer with this thread's id."""
        barrier.wait()
        return str(threading.get_ident())

    result = await Agent(four_calls("meet_in_thread"), tools=[meet_in_thread]).run("meet")
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.is_error for m in results] == [False] * 4, [m.content for m in results]
    threads = {m.content for m in results}
    assert len(threads) == 4
    assert str(threading.get_ident()) not in threads


async def test_concurrency_cap_limits_calls_in_flight() -> None:
    """With max_concurrency=2, no more than two calls run at once."""
    in_flight = 0
    peak = 0

    @tool
    async def tracked() -> str:
        """Count how many calls run at once."""
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.05)
        in_flight -= 1
        return "ok"

    model = ScriptedModel([calls(*[("tracked", {})] * 5), "done"])
    await Agent(model, tools=[tracked], max_concurrency=2).run("go")
    assert peak == 2


async def test_sequential_tool_is_a_barrier() -> None:
    """A sequential tool starts after the calls before it end, and the calls after it wait for it."""
    log: list[str] = []

    @tool
    async def step(name: str) -> str:
        """Record start and end."""
        log.append(f"start {name}")
        await anyio.sleep(0.05)
        log.append(f"end {name}")
        return name

    @tool(sequential=True)
    async def commit() -> str:
        """Record a barrier."""
        log.append("commit")
        return "committed"

    model = ScriptedModel(
        [
            calls(("step", {"name": "a"}), ("step", {"name": "b"}), ("commit", {}), ("step", {"name": "c"})),
            "ok",
        ]
    )
    await Agent(model, tools=[step, commit]).run("go")
    assert log.index("commit") > max(log.index("end a"), log.index("end b"))
    assert log.index("start c") > log.index("commit")
    assert log[:2] == ["start a", "start b"]


async def test_one_failure_does_not_cancel_the_others() -> None:
    """A tool that raises at once leaves a slower sibling to finish with its real result."""

    @tool
    def broken() -> str:
        """Fail immediately."""
        raise RuntimeError("disk on fire")

    model = ScriptedModel([calls(("broken", {}), ("nap", {"seconds": 0.1})), "ok"])
    result = await Agent(model, tools=[broken, nap]).run("go")
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert results[0].is_error
    assert "RuntimeError: disk on fire" in results[0].content
    assert results[1] == ToolMessage(tool_call_id=results[1].tool_call_id, name="nap", content="rested")
