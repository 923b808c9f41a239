"""SQLiteMemory: the embedded default, one file in WAL mode.

A turn is one row (its messages as a JSON array), written in a ``BEGIN
IMMEDIATE`` transaction, so it is stored whole or not at all, even if the
process is killed mid-write; several processes appending to the same file
never interleave or lose a turn (SQLite serialises writers; ``busy_timeout``
makes the others wait). The blocking ``sqlite3`` calls run in worker threads,
and turns appended while a write is in progress are committed together by the
next write (group commit), so many concurrent runs share transactions.
Each session's latest summary is one row of ``agentkit_summaries``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import anyio

from agentkit.exceptions import UserError
from agentkit.memory._codec import decode, decode_turn, encode, encode_turn
from agentkit.memory.abstract import Summary, check_session
from agentkit.messages import Message

__all__ = ["SQLiteMemory", "open_database"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentkit_turns (
    session    TEXT    NOT NULL,
    turn       INTEGER NOT NULL,
    messages   TEXT    NOT NULL,
    created_at REAL    NOT NULL,
    PRIMARY KEY (session, turn)
) WITHOUT ROWID
"""

_SUMMARY_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentkit_summaries (
    session    TEXT    PRIMARY KEY,
    covers     INTEGER NOT NULL,
    message    TEXT    NOT NULL,
    created_at REAL    NOT NULL
)
"""


@dataclass(kw_only=True, slots=True)
class _Pending:
    """A turn waiting to be written; ``done`` once a commit (or a failure) settled it."""

    session: str
    data: str
    done: bool = False
    error: BaseException | None = None


class SQLiteMemory:
    """Sessions in a SQLite file (WAL mode), safe for several processes on one machine.

    Args:
        path: the database file (created on first use).
        synchronous: SQLite's ``synchronous`` setting. ``"NORMAL"`` (the default)
            survives a killed process; ``"FULL"`` also survives power loss, at the
            cost of an fsync per commit.
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
        self._lock = threading.Lock()  # guards the connection
        self._queue_lock = threading.Lock()  # guards the pending turns
        self._pending: list[_Pending] = []
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        """Open the file on first use (called with the lock held)."""
        if self._conn is None:
            conn = open_database(self.path, _SCHEMA, busy_ms=self._busy_ms, synchronous=self._synchronous)
            conn.execute(_SUMMARY_SCHEMA)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn(self._connection())

        return await anyio.to_thread.run_sync(locked)

    async def load(self, session: str) -> list[Message]:
        """Return the session's messages in order (empty for an unknown session)."""
        check_session(session)
        rows = await self._run(
            lambda c: c.execute(
                "SELECT messages FROM agentkit_turns WHERE session = ? ORDER BY turn", (session,)
            ).fetchall()
        )
        return [m for (data,) in rows for m in decode_turn(data)]

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Add one turn's messages to the session, atomically."""
        check_session(session)
        if not messages:
            return
        item = _Pending(session=session, data=encode_turn(list(messages)))
        with self._queue_lock:
            self._pending.append(item)
        await anyio.to_thread.run_sync(self._write_pending, item)

    def _write_pending(self, item: _Pending) -> None:
        """Commit every pending turn in one transaction (unless an earlier write took ``item``)."""
        with self._lock:
            if not item.done:
                with self._queue_lock:
                    batch, self._pending = self._pending, []
                error: BaseException | None = None
                try:
                    _transaction(self._connection(), lambda c: _insert_turns(c, batch))
                except Exception as err:
                    error = err
                for pending in batch:
                    pending.done, pending.error = True, error
        if item.error is not None:
            raise item.error

    async def list_sessions(self) -> list[str]:
        """Return the names of the stored sessions, sorted."""
        rows = await self._run(
            lambda c: c.execute("SELECT DISTINCT session FROM agentkit_turns ORDER BY session").fetchall()
        )
        return [name for (name,) in rows]

    async def delete(self, session: str) -> None:
        """Remove a session (no error if it does not exist)."""
        check_session(session)
        await self._run(lambda c: _transaction(c, lambda conn: _delete(conn, session)))

    async def fork(self, source: str, target: str) -> None:
        """Copy session ``source`` to a new session ``target``.

        Raises:
            UserError: ``source`` does not exist or ``target`` already does.
        """
        check_session(source)
        check_session(target)
        await self._run(lambda c: _transaction(c, lambda conn: _fork(conn, source, target)))

    async def save_summary(self, session: str, summary: Summary) -> None:
        """Store ``summary`` as the session's summary, unless the stored one covers more messages."""
        check_session(session)
        row = (session, summary.covers, encode(summary.message), time.time())
        await self._run(
            lambda c: c.execute(
                "INSERT INTO agentkit_summaries (session, covers, message, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session) DO UPDATE SET covers = excluded.covers, message = excluded.message, "
                "created_at = excluded.created_at WHERE excluded.covers >= agentkit_summaries.covers",
                row,
            )
        )

    async def load_summary(self, session: str) -> Summary | None:
        """Return the session's latest summary (``None`` if it has none)."""
        check_session(session)
        row = await self._run(
            lambda c: c.execute(
                "SELECT covers, message FROM agentkit_summaries WHERE session = ?", (session,)
            ).fetchone()
        )
        return None if row is None else Summary(covers=int(row[0]), message=decode(row[1]))

    def close(self) -> None:
        """Close the database connection (the object reopens it if used again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def aclose(self) -> None:
        """Close the database connection."""
        self.close()


def open_database(path: str, schema: str, *, busy_ms: int, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open ``path`` in WAL mode and create ``schema``, waiting out other processes doing the same.

    Switching a new file to WAL can fail with "database is locked" while another process
    opens it (the busy timeout does not cover it), so opening is retried until ``busy_ms``.
    """
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute(schema)
        except sqlite3.OperationalError as err:
            conn.close()
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
        else:
            return conn


def _transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], None]) -> None:
    """Run ``body`` inside ``BEGIN IMMEDIATE`` (the write lock is taken up front)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        body(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _insert_turns(conn: sqlite3.Connection, batch: list[_Pending]) -> None:
    """Insert each pending turn after its session's last one, in arrival order."""
    next_turn: dict[str, int] = {}
    now = time.time()
    for item in batch:
        turn = next_turn.get(item.session)
        if turn is None:
            row = conn.execute(
                "SELECT max(turn) FROM agentkit_turns WHERE session = ?", (item.session,)
            ).fetchone()
            turn = 0 if row[0] is None else row[0] + 1
        conn.execute(
            "INSERT INTO agentkit_turns (session, turn, messages, created_at) VALUES (?, ?, ?, ?)",
            (item.session, turn, item.data, now),
        )
        next_turn[item.session] = turn + 1


def _fork(conn: sqlite3.Connection, source: str, target: str) -> None:
    exists = "SELECT 1 FROM agentkit_turns WHERE session = ? LIMIT 1"
    if conn.execute(exists, (source,)).fetchone() is None:
        raise UserError(f"cannot fork: no session named {source!r}")
    if conn.execute(exists, (target,)).fetchone() is not None:
        raise UserError(f"cannot fork: session {target!r} already exists")
    conn.execute(
        "INSERT INTO agentkit_turns (session, turn, messages, created_at) "
        "SELECT ?, turn, messages, created_at FROM agentkit_turns WHERE session = ?",
        (target, source),
    )
    conn.execute(
        "INSERT OR REPLACE INTO agentkit_summaries (session, covers, message, created_at) "
        "SELECT ?, covers, message, created_at FROM agentkit_summaries WHERE session = ?",
        (target, source),
    )


def _delete(conn: sqlite3.Connection, session: str) -> None:
    conn.execute("DELETE FROM agentkit_turns WHERE session = ?", (session,))
    conn.execute("DELETE FROM agentkit_summaries WHERE session = ?", (session,))
