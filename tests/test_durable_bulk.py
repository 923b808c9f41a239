"""A batch's coordinator talks to the system database in bulk: statements do not grow with the batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from dbos import DBOS, WorkflowStatus
from sqlalchemy import event

from agentkit.durable._batch_state import BatchState
from agentkit.durable._workflow import DurableRequest
from agentkit.durable.batch import _Follower
from agentkit.durable.client import DurableClient
from tests._durable_agents import SYSTEM_DATABASES, system_database

pytestmark = pytest.mark.anyio

#: Tasks in the batch: more than two of SQLAlchemy's thousand-row statements.
TASKS = 2_500


class Statements:
    """Counts the statements a client sends (settings aside), and the parameters bound into them."""

    def __init__(self, client: DurableClient) -> None:
        self.count = 0
        self.parameters = 0
        event.listen(client._client._sys_db.engine, "before_cursor_execute", self._seen)

    def _seen(  # noqa: PLR0917 - the signature SQLAlchemy calls
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.startswith("SET "):  # a session setting DBOS sends before a query on PostgreSQL
            return
        self.count += 1
        self.parameters += len(parameters or ())

    def reset(self) -> None:
        self.count = self.parameters = 0


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database with DBOS's tables, SQLite then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        DBOS.migrate(url)
        yield url


@pytest.fixture
async def client(database: str) -> AsyncIterator[DurableClient]:
    """A client of the fresh system database, its queue the default."""
    async with DurableClient(database) as made:
        yield made


def batch(count: int) -> list[tuple[DurableRequest, str]]:
    """``count`` requests, run ids ``b-0`` ...."""
    return [(DurableRequest(agent="m:agent", prompt=f"task {i}"), f"b-{i}") for i in range(count)]


async def test_enqueue_many_sends_a_few_statements_and_never_queues_a_run_twice(
    client: DurableClient,
) -> None:
    """2,500 runs are queued with at most six statements; enqueueing them again leaves every row as it is."""
    statements = Statements(client)
    await client.enqueue_many(batch(TASKS))
    assert statements.count <= 6  # two inserts of a thousand rows each, per thousand (it was 2 per run)
    rows = await client.runs_with_prefix("b-")
    assert len(rows) == TASKS
    assert {r.status for r in rows} == {"ENQUEUED"}
    assert {r.queue_name for r in rows} == {client.queue}
    assert {r.name for r in rows} == {"agentkit.run"}
    await client._client.cancel_workflow_async("b-7")  # one run has ended (cancelled)
    await client.enqueue_many(batch(TASKS))  # a rerun of the same batch: attaches, queues nothing again
    again = {r.workflow_id: r.status for r in await client.runs_with_prefix("b-")}
    assert len(again) == TASKS
    assert again.pop("b-7") == "CANCELLED"
    assert set(again.values()) == {"ENQUEUED"}


async def test_following_a_batch_reads_what_changed_not_every_run(client: DurableClient) -> None:
    """A poll of 2,500 queued runs binds a handful of parameters; three runs that end are read once."""
    await client.enqueue_many(batch(TASKS))
    state = BatchState.plan("b", [(str(i), None) for i in range(TASKS)])
    state.enqueued(state.ready())
    follower = _Follower(client, "b-", state)
    statements = Statements(client)
    await follower.poll()
    assert statements.parameters < 20  # it bound every unfinished run's id (2,500) each poll
    for run_id in ("b-3", "b-4", "b-2000"):
        await client._client.cancel_workflow_async(run_id)
    statements.reset()
    await follower.poll()
    assert statements.count <= 3  # ended since, their outputs (one page), running now
    assert state.count("CANCELLED") == 3
    assert state.progress().startswith(f"3/{TASKS} done (0 ok, 3 failed")
    assert follower.last_end_ms is not None
    statements.reset()
    await follower.poll()  # nothing new: the runs already seen are not loaded again
    assert statements.count == 2


class CountingClient(DurableClient):
    """A client that remembers how many ended runs each look returned."""

    looked: list[int]

    async def ended_since(self, prefix: str, since_ms: int | None = None) -> list[WorkflowStatus]:
        rows = await super().ended_since(prefix, since_ms)
        self.looked.append(len(rows))
        return rows


async def test_a_rerun_does_not_read_the_runs_ended_before_it_on_every_poll(database: str) -> None:
    """Attached to 2,001 ended runs, a poll rereads only the latest end, and none counts as ended now."""
    async with CountingClient(database) as client:
        client.looked = []
        await client.enqueue_many(batch(TASKS))
        await client._client.cancel_workflows_async([f"b-{i}" for i in range(2_000)])
        await anyio.sleep(3.1)  # the next end falls outside the look's 2 s reach-back (SQLite: whole seconds)
        await client._client.cancel_workflow_async("b-2400")
        state = BatchState.plan("b", [(str(i), None) for i in range(TASKS)])
        existing = await client.runs_with_prefix("b-")
        state.attach(existing, retry_failed=False)
        assert state.already_done == 2_001
        follower = _Follower(client, "b-", state, existing)
        await follower.poll()
        assert client.looked == [1]  # the look reaches back 2 s before the latest end: it read all 2,001
        assert follower.last_end_ms is None  # no run ended while followed: no collect time from old ends
