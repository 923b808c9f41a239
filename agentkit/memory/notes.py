"""Long-term notes: a full-text-searchable store shared across sessions, and tools over it.

`SQLiteNotes` uses SQLite's FTS5 (ranked by BM25); `PostgresNotes`
uses PostgreSQL full-text search (``tsvector`` with a GIN index, ranked by
``ts_rank``). `notes_tools` turns a store into two tools, ``remember`` and
``recall``, that an agent can be given::

    agent = Agent(model, tools=[*notes_tools(SQLiteNotes("agentkit.db"))])

Queries are plain words (no query syntax): a note matches when it contains any
of them, and notes holding more of them (and rarer ones) rank first.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio

from agentkit.memory.sqlite import open_database
from agentkit.tool import Tool, tool

__all__ = ["Note", "NotesStore", "PostgresNotes", "SQLiteNotes", "notes_tools"]

T = TypeVar("T")
_NOTES_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS agentkit_notes USING fts5("
    "text, created_at UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')"
)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, kw_only=True, slots=True)
class Note:
    """One stored note."""

    id: int
    text: str
    created_at: float


class NotesStore(Protocol):
    """Where notes live."""

    async def add(self, text: str) -> Note:
        """Store ``text`` as a new note and return it."""
        ...

    async def search(self, query: str, *, limit: int = 5) -> list[Note]:
        """Return up to ``limit`` notes matching any word of ``query``, best first."""
        ...

    async def delete(self, note_id: int) -> None:
        """Remove a note (no error if it does not exist)."""
        ...


def _words(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query)][:32]


class SQLiteNotes:
    """Notes in a SQLite FTS5 table (the file may be the sessions' file).

    >>> import anyio, tempfile, os
    >>> notes = SQLiteNotes(os.path.join(tempfile.mkdtemp(), "notes.db"))
    >>> _ = anyio.run(notes.add, "Alice prefers window seats")
    >>> [n.text for n in anyio.run(notes.search, "window")]
    ['Alice prefers window seats']
    """

    def __init__(self, path: str | os.PathLike[str] = "agentkit.db") -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._conn is None:
                    self._conn = open_database(self.path, _NOTES_SCHEMA, busy_ms=30_000)
                return fn(self._conn)

        return await anyio.to_thread.run_sync(locked)

    async def add(self, text: str) -> Note:
        """Store ``text`` as a new note and return it."""
        now = time.time()
        cursor = await self._run(
            lambda c: c.execute("INSERT INTO agentkit_notes (text, created_at) VALUES (?, ?)", (text, now))
        )
        return Note(id=int(cursor.lastrowid or 0), text=text, created_at=now)

    async def search(self, query: str, *, limit: int = 5) -> list[Note]:
        """Return up to ``limit`` notes matching any word of ``query``, best (BM25) first."""
        words = _words(query)
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = await self._run(
            lambda c: c.execute(
                "SELECT rowid, text, created_at FROM agentkit_notes WHERE agentkit_notes MATCH ? "
                "ORDER BY bm25(agentkit_notes), rowid DESC LIMIT ?",
                (match, limit),
            ).fetchall()
        )
        return [Note(id=int(r[0]), text=str(r[1]), created_at=float(r[2])) for r in rows]

    async def delete(self, note_id: int) -> None:
        """Remove a note (no error if it does not exist)."""
        await self._run(lambda c: c.execute("DELETE FROM agentkit_notes WHERE rowid = ?", (note_id,)))

    def close(self) -> None:
        """Close the database connection (reopened if used again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresNotes:
    """Notes in PostgreSQL with full-text search (``simple`` configuration: no stemming, any language).

    Needs the ``postgres`` extra. Opens one connection per operation.
    """

    def __init__(self, dsn: str, *, table: str = "agentkit_notes") -> None:
        from agentkit.memory.postgres import check_table_name  # noqa: PLC0415 - psycopg is optional

        self._dsn = dsn
        self.table = check_table_name(table)

    async def _execute(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg  # noqa: PLC0415 - psycopg is optional
        from psycopg import sql  # noqa: PLC0415 - likewise

        statement = sql.SQL(query).format(t=sql.Identifier(self.table))
        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {t} (id BIGSERIAL PRIMARY KEY, text TEXT NOT NULL, "
                    "created_at DOUBLE PRECISION NOT NULL, "
                    "search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED)"
                ).format(t=sql.Identifier(self.table))
            )
            cursor = await conn.execute(statement, params)
            return await cursor.fetchall() if cursor.description else []

    async def add(self, text: str) -> Note:
        """Store ``text`` as a new note and return it."""
        now = time.time()
        rows = await self._execute(
            "INSERT INTO {t} (text, created_at) VALUES (%s, %s) RETURNING id", (text, now)
        )
        return Note(id=int(rows[0][0]), text=text, created_at=now)

    async def search(self, query: str, *, limit: int = 5) -> list[Note]:
        """Return up to ``limit`` notes matching any word of ``query``, best (``ts_rank``) first."""
        words = _words(query)
        if not words:
            return []
        rows = await self._execute(
            "SELECT id, text, created_at FROM {t}, to_tsquery('simple', %s) q WHERE search @@ q "
            "ORDER BY ts_rank(search, q) DESC, id DESC LIMIT %s",
            (" | ".join(words), limit),
        )
        return [Note(id=int(r[0]), text=str(r[1]), created_at=float(r[2])) for r in rows]

    async def delete(self, note_id: int) -> None:
        """Remove a note (no error if it does not exist)."""
        await self._execute("DELETE FROM {t} WHERE id = %s", (note_id,))

    async def drop_table(self) -> None:
        """Drop the notes table (for tests and teardown)."""
        await self._execute("DROP TABLE IF EXISTS {t}")


def notes_tools(store: NotesStore, *, limit: int = 5) -> list[Tool]:
    """Return the ``remember`` and ``recall`` tools over ``store``."""

    @tool
    async def remember(note: str) -> str:
        """Save a note for later conversations: a fact, preference or decision worth keeping.

        Args:
            note: the note, written so it makes sense on its own.
        """
        saved = await store.add(note)
        return f"Saved as note {saved.id}."

    @tool
    async def recall(query: str) -> str:
        """Search the saved notes.

        Args:
            query: words to look for.
        """
        found = await store.search(query, limit=limit)
        if not found:
            return "No matching notes."
        return "\n".join(f"[{n.id}] {n.text}" for n in found)

    return [remember, recall]
