"""A provider model outlives event loops: run_sync twice, and runs in separate loops, just work."""

from __future__ import annotations

import anyio
import pytest

from agentkit import Agent
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply


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
