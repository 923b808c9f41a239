"""Where a durable run's calls are checkpointed: one row per call in the system database.

DBOS queues the runs, owns their identity and recovers them; the outcome of each
model call, tool call and memory write is recorded here, in agentkit's own
table beside DBOS's (``agentkit.checkpoints`` on PostgreSQL,
``agentkit_checkpoints`` on SQLite), with at most one statement per call:

- A run reads every checkpoint it already has in one query when its execution
  starts (first start or recovery), and replays those calls from them.
- Each new outcome is written by one statement that also checks that this
  execution still owns the run: DBOS gives each execution an ownership token
  (``owner_xid`` in its ``workflow_status`` row) and clears or replaces it when
  the run is cancelled, resumed or recovered elsewhere. A write by an execution
  that lost its run records nothing and stops it (`DBOSWorkflowCancelledError`
  when the run was cancelled, `DBOSWorkflowConflictIDError` otherwise), so a
  cancelled run makes no further call and two executions of one run cannot both
  record a call. The owner's row is share-locked for the statement, so a
  hand-off cannot land between the check and the insert.
- A call already recorded (``ON CONFLICT DO NOTHING``) keeps its first outcome:
  the writer reads it back and goes on with that one.

On PostgreSQL the statements run on the event loop over a small pool of psycopg
connections (prepared, autocommit), a pool per event loop that runs workflows,
and the steps that finish in the same pass of the loop (a turn's concurrent tool
calls, other runs' calls) are recorded by one statement; on SQLite each step is
recorded on a thread, over one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
import psycopg
from dbos._error import DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError

from agentkit.exceptions import UserError

__all__ = [
    "CheckpointStore",
    "PostgresCheckpoints",
    "SQLiteCheckpoints",
    "Stored",
    "current_store",
    "use_store",
]

#: A recorded call: the step's name and its pickled outcome.
Stored = tuple[str, bytes]

#: One statement records a step: it share-locks the run's status row if this execution owns it,
#: inserts through that row (nothing when not owned, nothing when recorded), says which happened.
_RECORD_ONE_SQL = (
    "WITH owner AS (SELECT status FROM {status}"
    " WHERE workflow_uuid = %s AND owner_xid = %s FOR SHARE),"
    " ins AS (INSERT INTO agentkit.checkpoints (workflow_id, step, name, outcome)"
    " SELECT workflow_uuid, %s, %s, %s FROM (SELECT %s::text AS workflow_uuid FROM owner) AS o"
    " ON CONFLICT (workflow_id, step) DO NOTHING RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM ins)"
)
#: One statement records the steps that finished together (a batch, any runs): it share-locks
#: the status row of each run this execution owns, inserts through those rows (nothing for a
#: run not owned, nothing for a step recorded before), and says per step which happened.
_RECORD_SQL = (
    "WITH new AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[])"
    " WITH ORDINALITY AS n (run, owner, step, name, outcome, i)),"
    " owned AS (SELECT new.* FROM new JOIN {status} AS s"
    " ON s.workflow_uuid = new.run AND s.owner_xid = new.owner FOR SHARE OF s),"
    " ins AS (INSERT INTO agentkit.checkpoints (workflow_id, step, name, outcome)"
    " SELECT run, step, name, outcome FROM owned"
    " ON CONFLICT (workflow_id, step) DO NOTHING RETURNING workflow_id, step)"
    " SELECT owned.i IS NOT NULL, owned.i IS NOT NULL AND ins.step IS NOT NULL FROM new"
    " LEFT JOIN owned ON owned.i = new.i"
    " LEFT JOIN ins ON ins.workflow_id = new.run AND ins.step = new.step ORDER BY new.i"
)

#: A step to record: run, owner token, step key, name, pickled outcome.
_Row = tuple[str, str, str, str, bytes]


class _Batch:
    """The steps of one event loop waiting for the next statement, and that statement's answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.rows: list[_Row] = []
        #: Per row: (owned, inserted).
        self.done: asyncio.Future[list[tuple[bool, bool]]] = loop.create_future()
        self.done.add_done_callback(_retrieved)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a batch's failure seen (its steps may all have been cancelled meanwhile)."""
    if not future.cancelled():
        future.exception()


#: Attempts at a statement whose connection was lost, and the first pause between them (doubling).
_ATTEMPTS = 6
_RETRY_S = 0.1
#: Seconds `close` waits for another event loop to close its pool.
_CLOSE_WAIT_S = 5.0


class CheckpointStore(Protocol):
    """Reads and writes the checkpoints of durable runs."""

    async def load(self, workflow_id: str) -> dict[str, Stored]:
        """Every checkpoint recorded for ``workflow_id``, by step key."""
        ...

    async def record(self, workflow_id: str, owner: str, key: str, name: str, outcome: bytes) -> Stored:
        """Record a step's outcome unless recorded already; return what is recorded.

        Raises:
            DBOSWorkflowCancelledError: the run was cancelled (nothing recorded).
            DBOSWorkflowConflictIDError: another execution owns the run now (nothing recorded).
        """
        ...

    async def aclose(self) -> None:
        """Close the connections of the current event loop."""
        ...

    def close(self) -> None:
        """Close every connection (those of other, running event loops too)."""
        ...


_store: CheckpointStore | None = None


def use_store(store: CheckpointStore | None) -> None:
    """Make ``store`` this process's checkpoint store (the launched runner's)."""
    global _store  # noqa: PLW0603 - one system database per process, as DBOS has one instance per process
    _store = store


def current_store() -> CheckpointStore:
    """This process's checkpoint store.

    Raises:
        UserError: no runner is launched in this process.
    """
    if _store is None:
        raise UserError("no DurableRunner is launched in this process: its checkpoints have nowhere to go")
    return _store


def _lost(workflow_id: str, status: str | None) -> BaseException:
    """The error that stops an execution which no longer owns its run."""
    if status == "CANCELLED":
        return DBOSWorkflowCancelledError(f"Workflow {workflow_id} is cancelled. Aborting function.")
    return DBOSWorkflowConflictIDError(workflow_id)


class PostgresCheckpoints:
    """Checkpoints in ``agentkit.checkpoints`` of a PostgreSQL system database.

    Args:
        conninfo: a libpq URL of the system database.
        dbos_schema: the schema of DBOS's tables (``dbos`` unless configured).
        connections: the most connections one event loop's pool opens.
    """

    def __init__(self, conninfo: str, *, dbos_schema: str, connections: int) -> None:
        self._conninfo = conninfo
        self._connections = connections
        quoted = dbos_schema.replace('"', '""')  # an identifier, quoted as PostgreSQL reads it
        status = f'"{quoted}".workflow_status'
        self._setup_sql = [
            "SELECT pg_advisory_xact_lock(24939, 1)",  # workers starting together create it once
            "CREATE SCHEMA IF NOT EXISTS agentkit",
            "CREATE TABLE IF NOT EXISTS agentkit.checkpoints ("
            f" workflow_id text NOT NULL REFERENCES {status} (workflow_uuid)"
            " ON UPDATE CASCADE ON DELETE CASCADE,"
            " step text NOT NULL, name text NOT NULL, outcome bytea NOT NULL,"
            " PRIMARY KEY (workflow_id, step))",
        ]
        self._load_sql = "SELECT step, name, outcome FROM agentkit.checkpoints WHERE workflow_id = %s"
        self._record_sql = _RECORD_SQL.replace("{status}", status)  # DBOS's schema, not input
        self._record_one_sql = _RECORD_ONE_SQL.replace("{status}", status)
        self._read_sql = "SELECT name, outcome FROM agentkit.checkpoints WHERE workflow_id = %s AND step = %s"
        self._status_sql = "SELECT status FROM {status} WHERE workflow_uuid = %s".replace("{status}", status)
        self._pools: dict[asyncio.AbstractEventLoop, Any] = {}
        self._batches: dict[asyncio.AbstractEventLoop, _Batch] = {}
        self._flushing: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    def setup(self) -> None:
        """Create the table if it is not there (blocking; run it on a thread)."""
        with psycopg.connect(self._conninfo) as conn, conn.transaction():
            for statement in self._setup_sql:
                conn.execute(statement)

    async def _pool(self) -> Any:
        from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415 - psycopg-pool ships with the dbos extra

        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            kwargs = {"autocommit": True, "prepare_threshold": 0}
            pool = AsyncConnectionPool(
                self._conninfo, min_size=0, max_size=self._connections, kwargs=kwargs, open=False
            )
            with self._lock:
                self._pools[loop] = pool
        await pool.open()  # safe to repeat: one pool per loop, opened by its first user
        return pool

    async def load(self, workflow_id: str) -> dict[str, Stored]:
        """Every checkpoint recorded for ``workflow_id``, by step key."""
        for attempt in range(_ATTEMPTS):
            try:
                return await self._load(workflow_id)
            except psycopg.OperationalError:  # a connection lost: the read is safe to repeat
                if attempt == _ATTEMPTS - 1:
                    raise
                await asyncio.sleep(_RETRY_S * 2**attempt)
        raise AssertionError("unreachable")

    async def _load(self, workflow_id: str) -> dict[str, Stored]:
        pool = await self._pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(self._load_sql, (workflow_id,))
            rows = await cursor.fetchall()
        return {step: (name, bytes(outcome)) for step, name, outcome in rows}

    async def record(self, workflow_id: str, owner: str, key: str, name: str, outcome: bytes) -> Stored:
        """Record a step's outcome unless recorded already; return what is recorded.

        Steps that finish in the same pass of the event loop (concurrent tool calls,
        other runs' calls) are recorded together, by one statement.
        """
        loop = asyncio.get_running_loop()
        batch = self._batches.get(loop)
        if batch is None:  # the first step of this pass: its statement goes once the pass is over
            batch = self._batches[loop] = _Batch(loop)
            loop.call_soon(self._send, loop, batch)
        index = len(batch.rows)
        batch.rows.append((workflow_id, owner, key, name, outcome))
        owned, inserted = (await asyncio.shield(batch.done))[index]  # one run's cancel spares the rest
        if inserted:
            return name, outcome
        return await self._settle(workflow_id, key, owned=owned)

    def _send(self, loop: asyncio.AbstractEventLoop, batch: _Batch) -> None:
        """Close ``batch`` to new steps and record it."""
        if self._batches.get(loop) is batch:
            del self._batches[loop]
        task = loop.create_task(self._flush(batch))
        self._flushing.add(task)  # the loop holds tasks weakly: keep it until it is done
        task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch: _Batch) -> None:
        first: dict[tuple[str, str, str], int] = {}  # a step twice in one batch: its first write goes
        rows = [row for index, row in enumerate(batch.rows) if first.setdefault(row[:3], index) == index]
        if len(rows) == 1:  # a simpler statement for a step alone
            run, owner, key, name, outcome = rows[0]
            sql, params = self._record_one_sql, [run, owner, key, name, outcome, run]
        else:
            sql, params = self._record_sql, [list(column) for column in zip(*rows, strict=True)]
        for attempt in range(_ATTEMPTS):
            try:
                pool = await self._pool()
                async with pool.connection() as conn:
                    cursor = await conn.execute(sql, params)
                    answer = [(bool(owned), bool(inserted)) for owned, inserted in await cursor.fetchall()]
            except psycopg.OperationalError as err:  # a connection lost: safe to repeat (first record stands)
                if attempt == _ATTEMPTS - 1:
                    batch.done.set_exception(err)
                    return
                await asyncio.sleep(_RETRY_S * 2**attempt)
            except Exception as err:  # any other failure: every step waiting on the batch gets it
                batch.done.set_exception(err)
                return
            else:
                sent = dict(zip((first[row[:3]] for row in rows), answer, strict=True))
                # A repeated step recorded nothing itself: it reads back what the first write left.
                batch.done.set_result([sent.get(index, (True, False)) for index in range(len(batch.rows))])
                return

    async def _settle(self, workflow_id: str, key: str, *, owned: bool) -> Stored:
        """What is recorded at ``key`` when this write recorded nothing (or raise: the run is lost)."""
        pool = await self._pool()
        async with pool.connection() as conn:
            if owned:  # recorded before: the first outcome stands
                cursor = await conn.execute(self._read_sql, (workflow_id, key))
                found = await cursor.fetchone()
                if found is not None:
                    return found[0], bytes(found[1])
            cursor = await conn.execute(self._status_sql, (workflow_id,))
            status = await cursor.fetchone()
        raise _lost(workflow_id, None if status is None else status[0])

    async def aclose(self) -> None:
        """Close the pool of the current event loop."""
        with self._lock:
            pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    def close(self) -> None:
        """Close every pool; those of other running loops on their loop."""
        with self._lock:
            pools, self._pools = self._pools, {}
        for loop, pool in pools.items():
            if loop.is_closed() or not loop.is_running():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if loop is running:  # called from that loop's own thread: close it there, soon
                loop.create_task(pool.close())
                continue
            future = asyncio.run_coroutine_threadsafe(pool.close(), loop)
            with contextlib.suppress(FutureTimeout, RuntimeError):
                future.result(_CLOSE_WAIT_S)


class SQLiteCheckpoints:
    """Checkpoints in ``agentkit_checkpoints`` of a SQLite system database (one connection, on a thread)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=60.0)
            conn.execute("PRAGMA busy_timeout = 60000")
            self._conn = conn
        return self._conn

    def setup(self) -> None:
        """Create the table if it is not there."""
        with self._lock:
            self._connection().execute(
                "CREATE TABLE IF NOT EXISTS agentkit_checkpoints ("
                " workflow_id TEXT NOT NULL, step TEXT NOT NULL, name TEXT NOT NULL, outcome BLOB NOT NULL,"
                " PRIMARY KEY (workflow_id, step))"
            )

    def _load(self, workflow_id: str) -> dict[str, Stored]:
        with self._lock:
            rows = self._connection().execute(
                "SELECT step, name, outcome FROM agentkit_checkpoints WHERE workflow_id = ?", (workflow_id,)
            )
            return {step: (name, bytes(outcome)) for step, name, outcome in rows}

    async def load(self, workflow_id: str) -> dict[str, Stored]:
        """Every checkpoint recorded for ``workflow_id``, by step key."""
        return await anyio.to_thread.run_sync(self._load, workflow_id)

    def _record(self, workflow_id: str, owner: str, key: str, name: str, outcome: bytes) -> Stored:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")  # the write lock first: no hand-off between check and insert
            try:
                row = conn.execute(
                    "SELECT status, owner_xid FROM workflow_status WHERE workflow_uuid = ?", (workflow_id,)
                ).fetchone()
                if row is None or row[1] != owner:
                    conn.execute("ROLLBACK")
                    raise _lost(workflow_id, None if row is None else row[0])
                conn.execute(
                    "INSERT INTO agentkit_checkpoints (workflow_id, step, name, outcome) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (workflow_id, step) DO NOTHING",
                    (workflow_id, key, name, outcome),
                )
                found = conn.execute(
                    "SELECT name, outcome FROM agentkit_checkpoints WHERE workflow_id = ? AND step = ?",
                    (workflow_id, key),
                ).fetchone()
                conn.execute("COMMIT")
            except sqlite3.Error:
                conn.execute("ROLLBACK")
                raise
        return found[0], bytes(found[1])

    async def record(self, workflow_id: str, owner: str, key: str, name: str, outcome: bytes) -> Stored:
        """Record a step's outcome unless recorded already; return what is recorded."""
        return await anyio.to_thread.run_sync(self._record, workflow_id, owner, key, name, outcome)

    async def aclose(self) -> None:
        """Close the connection."""
        self.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
