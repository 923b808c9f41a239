"""PostgresMemory: sessions in PostgreSQL (psycopg 3, async), shared by many processes and machines.

Needs the ``postgres`` extra (``pip install "agentkit[postgres]"``: psycopg and
psycopg-pool). Operations borrow connections from a pool, so concurrent runs in
one process use up to ``max_connections`` connections at once instead of queueing
on one. Each append is one transaction holding a per-session advisory lock, so
concurrent writers from any number of processes never interleave turns or lose
one. Each session's latest summary is a row of the table ``<table>_summaries``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Sequence

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from agentkit.exceptions import UserError
from agentkit.memory._codec import decode, encode
from agentkit.memory.abstract import Summary, check_session
from agentkit.messages import Message

__all__ = ["PostgresMemory", "check_table_name"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_table_name(table: str) -> str:
    """Return ``table`` if it is a plain lower-case identifier.

    Raises:
        UserError: it is not.
    """
    if not _IDENTIFIER.fullmatch(table):
        raise UserError(f"table name {table!r} must match {_IDENTIFIER.pattern}")
    return table


class PostgresMemory:
    """Sessions in a PostgreSQL table.

    Args:
        dsn: a libpq connection string, e.g. ``"postgresql://user:pw@host/db"``
            (never logged).
        table: the table to use (created on first use): lower-case letters,
            digits and ``_``; summaries go in ``<table>_summaries``.
        max_connections: the most connections the pool opens; concurrent
            operations beyond that wait for a free one (``1`` serialises every
            operation on a single connection).
        min_connections: connections kept open while idle.
        wait_timeout_s: how long an operation waits for a free connection
            before failing with `psycopg_pool.PoolTimeout`.

    The pool is opened on first use, one per event loop (``run_sync`` from
    different threads works), and closed by `aclose`. The schema is
    created on first use, over a direct connection, so a wrong DSN fails at
    once with psycopg's error instead of waiting for the pool.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "agentkit_messages",
        max_connections: int = 10,
        min_connections: int = 1,
        wait_timeout_s: float = 30.0,
    ) -> None:
        self._dsn = dsn
        self.table = check_table_name(table)
        if len(table) > 53:  # "<table>_summaries" must fit PostgreSQL's 63-byte identifiers
            raise UserError(f"table name {table!r} is too long for PostgresMemory (at most 53 characters)")
        if not 0 <= min_connections <= max_connections or max_connections < 1:
            raise UserError(
                f"PostgresMemory needs 1 <= max_connections and 0 <= min_connections <= max_connections, "
                f"got max_connections={max_connections}, min_connections={min_connections}"
            )
        self.max_connections = max_connections
        self.min_connections = min_connections
        self._wait_timeout_s = wait_timeout_s
        self._t = sql.Identifier(table)
        self._s = sql.Identifier(f"{table}_summaries")
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
        """Borrow a connection of this loop's pool (opened on first use) for one operation."""
        pool = self._pool if self._loop is asyncio.get_running_loop() else None
        async with (pool or await self._open_pool()).connection(timeout=self._wait_timeout_s) as conn:
            yield conn

    async def _open_pool(self) -> AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._opening is None:
            # A pool serves one event loop: a new loop (another run_sync) gets its own.
            self._loop, self._opening, self._pool = loop, asyncio.Lock(), None
        async with self._opening:
            if self._pool is None:
                await self._create_schema()
                pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]] = AsyncConnectionPool(
                    self._dsn,
                    min_size=self.min_connections,
                    max_size=self.max_connections,
                    kwargs={"autocommit": True},
                    name=f"agentkit-memory-{self.table}",
                    open=False,
                )
                await pool.open()
                self._pool = pool
            return self._pool

    async def _create_schema(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            await self._create_tables(conn)

    async def _create_tables(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self.table,))
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (session TEXT NOT NULL, seq INTEGER NOT NULL, "
                    "turn INTEGER NOT NULL, data TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
                    "PRIMARY KEY (session, seq))"
                ).format(self._t)
            )
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (session TEXT PRIMARY KEY, covers INTEGER NOT NULL, "
                    "data TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)"
                ).format(self._s)
            )

    async def load(self, session: str) -> list[Message]:
        """Return the session's messages in order (empty for an unknown session)."""
        check_session(session)
        async with self._locked() as conn:
            cursor = await conn.execute(
                sql.SQL("SELECT data FROM {} WHERE session = %s ORDER BY seq").format(self._t), (session,)
            )
            rows = await cursor.fetchall()
        return [decode(str(data)) for (data,) in rows]

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Add one turn's messages to the session in a single transaction."""
        check_session(session)
        if not messages:
            return
        encoded = [encode(m) for m in messages]
        async with self._locked() as conn, conn.transaction():
            await self._lock_session(conn, session)
            cursor = await conn.execute(
                sql.SQL("SELECT seq, turn FROM {} WHERE session = %s ORDER BY seq DESC LIMIT 1").format(
                    self._t
                ),
                (session,),
            )
            last = await cursor.fetchone()
            seq, turn = (int(str(last[0])) + 1, int(str(last[1])) + 1) if last else (0, 0)
            now = time.time()
            async with conn.cursor() as insert:
                await insert.executemany(
                    sql.SQL(
                        "INSERT INTO {} (session, seq, turn, data, created_at) VALUES (%s, %s, %s, %s, %s)"
                    ).format(self._t),
                    [(session, seq + i, turn, data, now) for i, data in enumerate(encoded)],
                )

    async def list_sessions(self) -> list[str]:
        """Return the names of the stored sessions, sorted."""
        async with self._locked() as conn:
            cursor = await conn.execute(
                sql.SQL('SELECT session FROM {} GROUP BY session ORDER BY session COLLATE "C"').format(
                    self._t
                )
            )
            rows = await cursor.fetchall()
        return [str(name) for (name,) in rows]

    async def delete(self, session: str) -> None:
        """Remove a session (no error if it does not exist)."""
        check_session(session)
        async with self._locked() as conn, conn.transaction():
            await conn.execute(sql.SQL("DELETE FROM {} WHERE session = %s").format(self._t), (session,))
            await conn.execute(sql.SQL("DELETE FROM {} WHERE session = %s").format(self._s), (session,))

    async def fork(self, source: str, target: str) -> None:
        """Copy session ``source`` to a new session ``target``.

        Raises:
            UserError: ``source`` does not exist or ``target`` already does.
        """
        check_session(source)
        check_session(target)
        exists = sql.SQL("SELECT 1 FROM {} WHERE session = %s LIMIT 1").format(self._t)
        async with self._locked() as conn, conn.transaction():
            await self._lock_session(conn, target)
            if await (await conn.execute(exists, (source,))).fetchone() is None:
                raise UserError(f"cannot fork: no session named {source!r}")
            if await (await conn.execute(exists, (target,))).fetchone() is not None:
                raise UserError(f"cannot fork: session {target!r} already exists")
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (session, seq, turn, data, created_at) "
                    "SELECT %s, seq, turn, data, created_at FROM {} WHERE session = %s"
                ).format(self._t, self._t),
                (target, source),
            )
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (session, covers, data, created_at) "
                    "SELECT %s, covers, data, created_at FROM {} WHERE session = %s "
                    "ON CONFLICT (session) DO UPDATE SET covers = excluded.covers, data = excluded.data, "
                    "created_at = excluded.created_at"
                ).format(self._s, self._s),
                (target, source),
            )

    async def save_summary(self, session: str, summary: Summary) -> None:
        """Store ``summary`` as the session's summary, unless the stored one covers more messages."""
        check_session(session)
        async with self._locked() as conn:
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} AS s (session, covers, data, created_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (session) DO UPDATE SET covers = excluded.covers, data = excluded.data, "
                    "created_at = excluded.created_at WHERE excluded.covers >= s.covers"
                ).format(self._s),
                (session, summary.covers, encode(summary.message), time.time()),
            )

    async def load_summary(self, session: str) -> Summary | None:
        """Return the session's latest summary (``None`` if it has none)."""
        check_session(session)
        async with self._locked() as conn:
            cursor = await conn.execute(
                sql.SQL("SELECT covers, data FROM {} WHERE session = %s").format(self._s), (session,)
            )
            row = await cursor.fetchone()
        return None if row is None else Summary(covers=int(str(row[0])), message=decode(str(row[1])))

    async def _lock_session(self, conn: psycopg.AsyncConnection[tuple[object, ...]], session: str) -> None:
        """Serialise writers of one session until the transaction ends."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{self.table}\x1f{session}",)
        )

    async def drop_tables(self) -> None:
        """Drop this memory's table and everything in it (for tests and teardown)."""
        async with self._locked() as conn:
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(self._t, self._s))
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool and its connections (the object opens a new pool if used again)."""
        pool, self._pool, self._loop, self._opening = self._pool, None, None, None
        if pool is not None:
            await pool.close()
