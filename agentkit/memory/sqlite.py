"""SQLiteMemory: the embedded default, one file in WAL mode.

Each :meth:`SQLiteMemory.append` is one ``BEGIN IMMEDIATE`` transaction, so a
turn is stored whole or not at all, even if the process is killed mid-write,
and several processes appending to the same file never interleave or lose a
turn (SQLite serialises writers; ``busy_timeout`` makes the others wait).
The blocking ``sqlite3`` calls run in worker threads.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

import anyio

from agentkit.exceptions import UserError
from agentkit.memory._codec import decode, encode
from agentkit.messages import Message

__all__ = ["SQLiteMemory"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentkit_messages (
    session    TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    turn       INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    created_at REAL    NOT NULL,
    PRIMARY KEY (session, seq)
) WITHOUT ROWID
"""


class SQLiteMemory:
    """Sessions in a SQLite file (WAL mode), safe for several processes on one machine.

    Args:
        path: the database file (created on first use).
        synchronous: SQLite's ``synchronous`` setting. ``"NORMAL"`` (the default)
            survives a killed process; ``"FULL"`` also survives power loss, at the
            cost of an fsync per turn.
        busy_timeout_s: how long a writer waits for another process's transaction.

    >>> import anyio, tempfile, os
    >>> from agentkit.messages import UserMessage
    >>> memory = SQLiteMemory(os.path.join(tempfile.mkdtemp(), "doc.db"))
    >>> anyio.run(memory.append, "alice", [UserMessage(content="hi")])
    >>> [m.content for m in anyio.run(memory.load, "alice")]
    ['hi']
    >>> memory.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "agentkit.db",
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = os.fspath(path)
        self._synchronous = synchronous
        self._busy_ms = int(busy_timeout_s * 1000)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        """Open the file on first use (called with the lock held)."""
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn(self._connection())

        return await anyio.to_thread.run_sync(locked)

    async def load(self, session: str) -> list[Message]:
        """Return the session's messages in order (empty for an unknown session)."""
        rows = await self._run(
            lambda c: c.execute(
                "SELECT data FROM agentkit_messages WHERE session = ? ORDER BY seq", (session,)
            ).fetchall()
        )
        return [decode(data) for (data,) in rows]

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Add one turn's messages to the session in a single transaction."""
        if not messages:
            return
        encoded = [encode(m) for m in messages]
        await self._run(lambda c: _append(c, session, encoded))

    async def list_sessions(self) -> list[str]:
        """Return the names of the stored sessions, sorted."""
        rows = await self._run(
            lambda c: c.execute("SELECT DISTINCT session FROM agentkit_messages ORDER BY session").fetchall()
        )
        return [name for (name,) in rows]

    async def delete(self, session: str) -> None:
        """Remove a session (no error if it does not exist)."""
        await self._run(lambda c: c.execute("DELETE FROM agentkit_messages WHERE session = ?", (session,)))

    async def fork(self, source: str, target: str) -> None:
        """Copy session ``source`` to a new session ``target``.

        Raises:
            UserError: ``source`` does not exist or ``target`` already does.
        """
        await self._run(lambda c: _fork(c, source, target))

    def close(self) -> None:
        """Close the database connection (the object reopens it if used again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def aclose(self) -> None:
        """Close the database connection."""
        self.close()


def _transaction(conn: sqlite3.Connection, body: Callable[[], None]) -> None:
    """Run ``body`` inside ``BEGIN IMMEDIATE`` (the write lock is taken up front)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        body()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _append(conn: sqlite3.Connection, session: str, encoded: list[str]) -> None:
    def body() -> None:
        last = conn.execute(
            "SELECT seq, turn FROM agentkit_messages WHERE session = ? ORDER BY seq DESC LIMIT 1",
            (session,),
        ).fetchone()
        seq, turn = (last[0] + 1, last[1] + 1) if last else (0, 0)
        now = time.time()
        conn.executemany(
            "INSERT INTO agentkit_messages (session, seq, turn, data, created_at) VALUES (?, ?, ?, ?, ?)",
            [(session, seq + i, turn, data, now) for i, data in enumerate(encoded)],
        )

    _transaction(conn, body)


def _fork(conn: sqlite3.Connection, source: str, target: str) -> None:
    def body() -> None:
        exists = "SELECT 1 FROM agentkit_messages WHERE session = ? LIMIT 1"
        if conn.execute(exists, (source,)).fetchone() is None:
            raise UserError(f"cannot fork: no session named {source!r}")
        if conn.execute(exists, (target,)).fetchone() is not None:
            raise UserError(f"cannot fork: session {target!r} already exists")
        conn.execute(
            "INSERT INTO agentkit_messages (session, seq, turn, data, created_at) "
            "SELECT ?, seq, turn, data, created_at FROM agentkit_messages WHERE session = ?",
            (target, source),
        )

    _transaction(conn, body)
