"""Concurrency of tool calls within one turn: parallel, capped, sequential barriers, isolation."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio

DELAY = 0.4


@tool
async def nap(seconds: float) -> str:
    """Sleep asynchronously."""
    await anyio.sleep(seconds)
    return "rested"


@tool
def sync_nap(seconds: float) -> str:
    """Sleep in a blocking way (runs in a worker thread)."""
    time.sleep(seconds)
    return threading.current_thread().name


def four_calls(name: str) -> ScriptedModel:
    """A model asking for four parallel calls of ``name``, then answering."""
    return ScriptedModel([calls(*[(name, {"seconds": DELAY})] * 4), "done"])


async def test_four_async_tools_run_concurrently() -> None:
    """Four async tools sleeping 0.4 s finish together, well under the 1.6 s a serial loop takes."""
    agent = Agent(four_calls("nap"), tools=[nap])
    started = time.perf_counter()
    result = await agent.run("rest")
    elapsed = time.perf_counter() - started
    assert result.usage.tool_calls == 4
    assert elapsed < 0.8, elapsed


async def test_four_sync_tools_run_concurrently_in_threads() -> None:
    """Four blocking tools run in worker threads, concurrently, off the event loop's thread."""
    agent = Agent(four_calls("sync_nap"), tools=[sync_nap])
    started = time.perf_counter()
    result = await agent.run("rest")
    elapsed = time.perf_counter() - started
    thread_names = {m.content for m in result.messages if isinstance(m, ToolMessage)}
    assert elapsed < 0.8, elapsed
    assert threading.current_thread().name not in thread_names


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
