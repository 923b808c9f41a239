"""DurableRunner in one process: runs as workflows, steps checkpointed, failures reported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentkit import Agent, RunContext, tool
from agentkit.durable import DurableRequest, DurableRunner, RateLimit, register_agent
from agentkit.memory import SQLiteMemory
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.models.function import FunctionModel, ScriptedModel, call

pytestmark = pytest.mark.anyio


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[DurableRunner]:
    """A launched runner on a fresh SQLite system database."""
    durable = DurableRunner(f"sqlite:///{tmp_path / 'runs.sqlite'}", executor_id="test")
    async with durable:
        yield durable


async def test_tool_calls_get_stable_idempotency_keys(runner: DurableRunner) -> None:
    """Each tool call of a durable run sees workflow id and agentkit's call key (turn.position) as its key."""
    keys: list[str | None] = []

    @tool
    def add(a: int, b: int, ctx: RunContext[None]) -> int:
        """Add two numbers."""
        keys.append(ctx.idempotency_key)
        assert RunContext.current_idempotency_key() == ctx.idempotency_key  # for tools without ctx
        return a + b

    calls = (call("add", {"a": 1, "b": 2}), call("add", {"a": 3, "b": 4}))
    model = ScriptedModel([AssistantMessage(content=None, tool_calls=calls), "3 and 7"])
    register_agent("adder", Agent(model, tools=[add]))
    record = await runner.run(DurableRequest(agent="adder", prompt="add"), run_id="run-keys")
    assert record.ok
    assert record.output == "3 and 7"
    assert record.turns == 2
    assert sorted(k or "" for k in keys) == ["run-keys:1.0", "run-keys:1.1"]


async def test_same_run_id_returns_the_recorded_run(runner: DurableRunner) -> None:
    """Starting a run id that already finished returns its record without calling the model again."""
    model = ScriptedModel(["first answer"])
    register_agent("once", Agent(model))
    first = await runner.run(DurableRequest(agent="once", prompt="hi"), run_id="run-once")
    again = await runner.run(DurableRequest(agent="once", prompt="hi"), run_id="run-once")
    assert first.output == again.output == "first answer"


async def test_failed_run_is_reported_not_raised(runner: DurableRunner) -> None:
    """A run that hits a limit ends as a record carrying the error and the conversation."""
    model = ScriptedModel([call("missing", {}), call("missing", {})])
    register_agent("looper", Agent(model, max_turns=1))
    record = await runner.run(DurableRequest(agent="looper", prompt="loop"), run_id="run-fail")
    assert not record.ok
    assert record.error is not None
    assert record.error.startswith("MaxTurnsExceeded")
    assert isinstance(record.messages[0], UserMessage)


async def test_unknown_agent_is_reported(runner: DurableRunner) -> None:
    """A run naming an agent no process knows ends as an error record."""
    record = await runner.run(DurableRequest(agent="nowhere", prompt="hi"), run_id="run-unknown")
    assert record.error is not None
    assert "unknown agent 'nowhere'" in record.error


async def test_session_turns_are_stored_once(runner: DurableRunner, tmp_path: Path) -> None:
    """A durable run with a session stores each turn in memory through a checkpointed step."""
    memory = SQLiteMemory(str(tmp_path / "memory.db"))
    register_agent("chat", Agent(ScriptedModel(["hello alice"]), memory=memory))
    record = await runner.run(DurableRequest(agent="chat", prompt="hi", session="alice"), run_id="run-chat")
    assert record.output == "hello alice"
    stored = await memory.load("alice")
    assert [m.content for m in stored] == ["hi", "hello alice"]
    memory.close()


async def test_fan_out_map_returns_records_in_order(runner: DurableRunner) -> None:
    """map() queues every request and returns the records in the requests' order."""
    register_agent("echo", Agent(FunctionModel(lambda request: f"echo {request.messages[-1].content}")))
    requests = [DurableRequest(agent="echo", prompt=f"p{i}") for i in range(20)]
    records = await runner.map(requests)
    assert [r.output for r in records] == [f"echo p{i}" for i in range(20)]
    progress = await runner.progress([r.run_id for r in records])
    assert progress.done == 20
    assert str(progress).startswith("20/20 done")


def test_rate_limit_takes_the_tighter_of_rpm_and_tpm() -> None:
    """Run starts per minute follow whichever of RPM and TPM binds first."""
    assert RateLimit(rpm=200, requests_per_run=4).runs_per_minute == 50
    assert RateLimit(rpm=200, tpm=100_000, requests_per_run=4, tokens_per_run=10_000).runs_per_minute == 10
    assert RateLimit().runs_per_minute is None
    assert RateLimit(rpm=1, requests_per_run=5).runs_per_minute == 1


async def test_checkpoints_do_not_ping_the_database_first(runner: DurableRunner) -> None:
    """DBOS's engine takes connections from its pool without a "SELECT 1" round trip per checkpoint."""
    from dbos._dbos import _get_dbos_instance  # noqa: PLC0415 - the engine is DBOS's own

    assert _get_dbos_instance()._sys_db.engine.pool._pre_ping is False
