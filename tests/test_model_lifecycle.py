"""A provider model outlives event loops: run_sync twice, and runs in separate loops, just work."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Coroutine, Iterator
from typing import Any

import anyio
import pytest

from agentkit import Agent
from agentkit.exceptions import ModelHTTPError
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply
from tests.builders import run_agent


@pytest.mark.filterwarnings("error")
def test_run_sync_twice_with_one_model() -> None:
    """Two run_sync calls (two event loops) on one KimiModel both succeed without leaking the pool."""
    with FakeKimiServer([Reply.text("one"), Reply.text("two")]) as server:
        agent = Agent(KimiModel(base_url=server.base_url, api_key="sk-test-lifecycle"))
        assert agent.run_sync("first").output == "one"
        assert agent.run_sync("second").output == "two"
        assert len(server.requests) == 2


def test_model_reused_across_anyio_run_calls() -> None:
    """A model used in one event loop, then in a new one, opens a fresh connection pool."""
    with FakeKimiServer([Reply.text("a"), Reply.text("b")]) as server:
        model = KimiModel(base_url=server.base_url, api_key="sk-test-lifecycle")
        agent = Agent(model)

        async def ask(prompt: str) -> str:
            return (await agent.run(prompt)).output

        assert anyio.run(ask, "x") == "a"
        assert anyio.run(ask, "y") == "b"
        anyio.run(model.aclose)


@pytest.fixture
def loop_problems() -> Iterator[list[str]]:
    """Every unraisable exception and event-loop error reported while the test runs."""
    problems: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda u: problems.append(f"{u.exc_type.__name__}: {u.exc_value}")
    try:
        yield problems
    finally:
        sys.unraisablehook = previous


def _run_in_fresh_loop(problems: list[str], coro: Coroutine[Any, Any, object]) -> object:
    """Run ``coro`` the way pytest-asyncio runs one test: a new event loop, closed afterwards."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, context: problems.append(str(context.get("exception"))))
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.mark.parametrize("stream", [False, True])
def test_failed_run_leaves_nothing_for_the_next_event_loop(loop_problems: list[str], stream: bool) -> None:
    """A run ending in an error in one test's loop leaves no pool closing on the next test's loop."""
    with FakeKimiServer(
        [Reply.error(400, "invalid_request_error", "bad request"), Reply.text("second test")]
    ) as server:
        model = KimiModel(base_url=server.base_url, api_key="sk-test-loops")
        agent = Agent(model)

        async def first_test() -> str:
            try:
                await run_agent(agent, "one", stream=stream)
            except ModelHTTPError as err:
                return type(err).__name__
            return "no error"

        async def second_test() -> str:
            gc.collect()  # whatever the first loop left behind is finalised now, on this loop
            output = (await agent.run("two")).output
            gc.collect()
            await asyncio.sleep(0)
            return str(output)

        assert _run_in_fresh_loop(loop_problems, first_test()) == "ModelHTTPError"
        assert _run_in_fresh_loop(loop_problems, second_test()) == "second test"
    assert loop_problems == []
