"""Per-call checkpoints of durable runs: one row per call, none after cancellation or by a stale execution.

Each test runs a real DBOS runner in this process on a fresh SQLite file and a
fresh PostgreSQL database, and reads agentkit's checkpoint table directly.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import psycopg
import pytest
from dbos import DBOS
from dbos._context import get_local_dbos_context
from dbos._error import DBOSWorkflowConflictIDError

from agentkit import Agent, RunContext, tool
from agentkit.durable import DurableRequest, DurableRunner, register_agent
from agentkit.durable._checkpoints import current_store
from agentkit.durable._liveness import libpq_url, sqlite_path
from agentkit.durable._steps import STEPS
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.abstract import ModelRequest
from agentkit.models.function import FunctionModel, call
from tests._durable_agents import SYSTEM_DATABASES, system_database

pytestmark = pytest.mark.anyio


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database URL: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def runner(database: str) -> AsyncIterator[DurableRunner]:
    """A launched runner that also executes the queue, polling it often."""
    from agentkit.durable import QueueConfig  # noqa: PLC0415

    durable = DurableRunner(database, executor_id="ck", queue=QueueConfig(polling_interval_s=0.05))
    async with durable:
        yield durable


def checkpoints(database: str, run_id: str) -> dict[str, tuple[str, bytes]]:
    """The run's checkpoint rows as step key -> (name, outcome as stored)."""
    path = sqlite_path(database)
    if path is not None:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT step, name, outcome FROM agentkit_checkpoints WHERE workflow_id = ?", (run_id,)
            ).fetchall()
    else:
        with psycopg.connect(libpq_url(database)) as pg:
            rows = pg.execute(
                "SELECT step, name, outcome FROM agentkit.checkpoints WHERE workflow_id = %s", (run_id,)
            ).fetchall()
    return {step: (name, bytes(outcome)) for step, name, outcome in rows}


class Gate:
    """The first execution of the ``work`` tool waits here until released (any thread may release it)."""

    def __init__(self) -> None:
        self.executions: list[str | None] = []
        self.owners: list[str | None] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def agent(self, model_calls: list[int]) -> Agent[str]:
        """An agent: one ``work`` call, then the answer quoting the tool's result."""

        @tool
        async def work(ctx: RunContext[None]) -> str:
            """Do the work."""
            self.executions.append(ctx.idempotency_key)
            dbos_ctx = get_local_dbos_context()
            self.owners.append(None if dbos_ctx is None else dbos_ctx.owner_xid)
            number = len(self.executions)
            if number == 1:
                self.started.set()
                while not self.release.is_set():  # noqa: ASYNC110 - released from the test's thread
                    await anyio.sleep(0.01)
            return f"execution {number}"

        def answer(request: ModelRequest) -> AssistantMessage | str:
            model_calls.append(1)
            last = request.messages[-1]
            if isinstance(last, ToolMessage):
                return f"the work said: {last.content}"
            return AssistantMessage(content=None, tool_calls=(call("work", {}),))

        return Agent(FunctionModel(answer), tools=[work])


async def until(predicate: object) -> None:
    """Wait (on the event loop) until ``predicate()`` holds; the test's timeout stops a hang."""
    while not predicate():  # type: ignore[operator]  # noqa: ASYNC110 - another thread's state
        await anyio.sleep(0.01)


async def test_a_run_records_one_checkpoint_per_call(runner: DurableRunner, database: str) -> None:
    """A finished run holds one row per model and tool call; running its id again calls nothing."""
    gate, model_calls = Gate(), list[int]()
    gate.release.set()
    register_agent("ck-plain", gate.agent(model_calls))
    record = await runner.run(DurableRequest(agent="ck-plain", prompt="go"), run_id="ck-1")
    assert record.output == "the work said: execution 1"
    rows = checkpoints(database, "ck-1")
    assert sorted(rows) == ["1", "2", "tool 1.0"]
    assert rows["1"][0] == rows["2"][0] == "model:function"
    assert rows["tool 1.0"][0] == "tool:work"
    again = await runner.run(DurableRequest(agent="ck-plain", prompt="go"), run_id="ck-1")
    assert again.output == record.output
    assert (len(model_calls), len(gate.executions)) == (2, 1)


async def test_a_cancelled_run_records_nothing_more_and_resumes_from_its_checkpoints(
    runner: DurableRunner, database: str
) -> None:
    """Cancelled mid-tool: nothing more is recorded or called; resumed, only the tool in flight runs again."""
    gate, model_calls = Gate(), list[int]()
    register_agent("ck-cancel", gate.agent(model_calls))
    await runner.enqueue(DurableRequest(agent="ck-cancel", prompt="go"), run_id="ck-2")
    await anyio.to_thread.run_sync(gate.started.wait)
    await DBOS.cancel_workflow_async("ck-2")
    gate.release.set()
    await until(lambda: STEPS.in_flight == 0)  # the tool returned and its write was refused
    assert sorted(checkpoints(database, "ck-2")) == ["1"]
    assert len(model_calls) == 1
    status = await DBOS.get_workflow_status_async("ck-2")
    assert status is not None
    assert status.status == "CANCELLED"

    await DBOS.resume_workflow_async("ck-2")
    record = await runner.result("ck-2")
    assert record.output == "the work said: execution 2"
    assert len(model_calls) == 2  # the first model call was replayed, not made again
    assert gate.executions == ["ck-2:1.0", "ck-2:1.0"]  # the call in flight at the cancel ran again, same key
    rows = checkpoints(database, "ck-2")
    assert sorted(rows) == ["1", "2", "tool 1.0"]


async def test_an_execution_that_lost_its_run_cannot_record(runner: DurableRunner, database: str) -> None:
    """A run handed to another execution refuses the stale one's writes; a step's first record stands."""
    gate, model_calls = Gate(), list[int]()
    register_agent("ck-stale", gate.agent(model_calls))
    await runner.enqueue(DurableRequest(agent="ck-stale", prompt="go"), run_id="ck-3")
    await anyio.to_thread.run_sync(gate.started.wait)
    store, owner = current_store(), gate.owners[0]
    assert owner is not None
    assert await store.record("ck-3", owner, "probe", "probe", b"first") == ("probe", b"first")
    assert await store.record("ck-3", owner, "probe", "probe", b"second") == ("probe", b"first")
    # Writes made together (one statement on PostgreSQL): each gets its own answer.
    answers: dict[str, object] = {}

    async def write(label: str, who: str, key: str, outcome: bytes) -> None:
        try:
            answers[label] = await store.record("ck-3", who, key, "probe", outcome)
        except DBOSWorkflowConflictIDError as err:
            answers[label] = err

    async with anyio.create_task_group() as group:
        group.start_soon(write, "new", owner, "together", b"one")
        group.start_soon(write, "same step", owner, "together", b"two")
        group.start_soon(write, "recorded", owner, "probe", b"third")
        group.start_soon(write, "stranger", "not-the-owner", "together", b"four")
    assert answers["new"] == answers["same step"]  # whichever was written first, for both
    assert answers["new"] in {("probe", b"one"), ("probe", b"two")}
    assert answers["recorded"] == ("probe", b"first")
    assert isinstance(answers["stranger"], DBOSWorkflowConflictIDError)
    await DBOS.resume_workflow_async("ck-3")  # a hand-off: a second execution takes the run over
    record = await runner.result("ck-3")
    assert record.output == "the work said: execution 2"
    gate.release.set()
    await until(lambda: STEPS.in_flight == 0)  # the stale execution's tool returned; its write was refused
    rows = checkpoints(database, "ck-3")
    assert sorted(rows) == ["1", "2", "probe", "together", "tool 1.0"]
    assert pickle.loads(rows["tool 1.0"][1]).value == "execution 2"  # noqa: S301 - the test's own database
    assert len(model_calls) == 2
    stale, fresh = gate.owners
    assert stale is not None
    assert fresh is not None
    assert stale != fresh

    with pytest.raises(DBOSWorkflowConflictIDError):
        await store.record("ck-3", stale, "extra", "tool:work", b"stale")
    assert "extra" not in checkpoints(database, "ck-3")


async def test_a_run_resumed_under_a_changed_agent_stops_instead_of_replaying(runner: DurableRunner) -> None:
    """A recorded step named otherwise than the call now made ends the run with a clear error."""
    gate, model_calls = Gate(), list[int]()
    register_agent("ck-change", gate.agent(model_calls))
    await runner.enqueue(DurableRequest(agent="ck-change", prompt="go"), run_id="ck-4")
    await anyio.to_thread.run_sync(gate.started.wait)
    await DBOS.cancel_workflow_async("ck-4")
    gate.release.set()
    await until(lambda: STEPS.in_flight == 0)
    changed = gate.agent(model_calls)
    register_agent("ck-change", changed.replace(model=FunctionModel(lambda _: "hi", model_name="other")))
    await DBOS.resume_workflow_async("ck-4")
    record = await runner.result("ck-4")
    assert record.error is not None
    assert "recorded step 1 as 'model:function', but now runs 'model:other'" in record.error
    assert len(model_calls) == 1
    assert len(gate.executions) == 1
