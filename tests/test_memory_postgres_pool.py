"""PostgresMemory's connection pool: concurrent operations use several connections, within the cap."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from agentkit.exceptions import UserError
from agentkit.memory.postgres import PostgresMemory
from agentkit.messages import AssistantMessage, Message, UserMessage
from tests._memory_backends import postgres_dsn

pytestmark = pytest.mark.anyio

#: A deadlock breaker for the polls below, not a speed limit.
GUARD_S = 20.0


@pytest.fixture
async def admin() -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """A separate connection to the test server, for holding locks and reading pg_stat_activity."""
    async with await psycopg.AsyncConnection.connect(postgres_dsn(), autocommit=True) as conn:
        yield conn


async def _backends(conn: psycopg.AsyncConnection[tuple[object, ...]], app: str, *, waiting: bool) -> int:
    """How many server connections named ``app`` exist (or wait on a lock, with ``waiting``)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    if waiting:
        query += " AND wait_event_type = 'Lock'"
    row = await (await conn.execute(query, (app,))).fetchone()
    return int(str(row[0])) if row else 0


async def _until(
    conn: psycopg.AsyncConnection[tuple[object, ...]], app: str, count: int, *, waiting: bool
) -> None:
    """Poll until exactly ``count`` such connections are seen."""
    with anyio.fail_after(GUARD_S):
        while True:
            if await _backends(conn, app, waiting=waiting) == count:
                return
            await anyio.sleep(0.01)


async def _appends_in_flight(
    admin: psycopg.AsyncConnection[tuple[object, ...]], max_connections: int, writers: int
) -> None:
    """Start ``writers`` appends to distinct sessions while ``admin`` holds their session locks.

    Each append that got a connection waits on the server for its session's advisory lock, so the
    number of connections waiting there is the number of operations in flight at once: it must reach
    ``min(writers, max_connections)`` and the memory must hold no other connection meanwhile.
    """
    app = f"agentkit-test-{uuid.uuid4().hex[:10]}"
    memory = PostgresMemory(
        make_conninfo(postgres_dsn(), application_name=app),
        table=f"agentkit_test_pool_{uuid.uuid4().hex[:10]}",
        max_connections=max_connections,
        min_connections=0,
    )
    sessions = [f"s{i}" for i in range(writers)]
    await memory.load("open the pool")
    lock = "SELECT pg_advisory_{}(hashtextextended(%s, 0))"
    for session in sessions:
        await admin.execute(lock.format("lock"), (f"{memory.table}\x1f{session}",))
    try:
        async with anyio.create_task_group() as group:
            for session in sessions:
                turn: list[Message] = [UserMessage(content=session), AssistantMessage(content=session)]
                group.start_soon(memory.append, session, turn)
            in_flight = min(writers, max_connections)
            await _until(admin, app, in_flight, waiting=True)
            assert await _backends(admin, app, waiting=False) == in_flight
            for session in sessions:
                await admin.execute(lock.format("unlock"), (f"{memory.table}\x1f{session}",))
        for session in sessions:
            assert [m.content for m in await memory.load(session)] == [session, session]
    finally:
        await admin.execute("SELECT pg_advisory_unlock_all()")
        await memory.drop_tables()
    await _until(admin, app, 0, waiting=False)


async def test_concurrent_appends_each_get_their_own_connection(
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    """Four appends started at once are all in flight on four server connections (not queued on one)."""
    await _appends_in_flight(admin, max_connections=8, writers=4)


async def test_the_pool_never_opens_more_than_max_connections(
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    """With max_connections=2, six concurrent appends hold two connections; the rest wait and then succeed."""
    await _appends_in_flight(admin, max_connections=2, writers=6)


async def test_a_single_connection_serialises_operations(
    admin: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    """max_connections=1 is the one-connection design: a single operation in flight at a time."""
    await _appends_in_flight(admin, max_connections=1, writers=3)


async def test_an_unreachable_server_fails_at_once_without_the_password() -> None:
    """A DSN nobody answers fails with psycopg's OperationalError (not a pool wait) naming no secret."""
    memory = PostgresMemory("postgresql://agent:s3cret-pw@127.0.0.1:1/nowhere", table="agentkit_unreachable")
    with pytest.raises(psycopg.OperationalError) as caught:
        await memory.load("alice")
    assert "s3cret-pw" not in str(caught.value)
    await memory.aclose()


@pytest.mark.parametrize(("max_connections", "min_connections"), [(0, 0), (2, 3), (2, -1)])
def test_impossible_pool_sizes_are_refused(max_connections: int, min_connections: int) -> None:
    """Pool sizes that cannot work raise UserError when the memory is made, not on first use."""
    with pytest.raises(UserError, match="max_connections"):
        PostgresMemory(
            "postgresql://x@127.0.0.1/db", max_connections=max_connections, min_connections=min_connections
        )
