"""Long-term notes: full-text search over SQLite FTS5 and PostgreSQL, and the remember/recall tools."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentkit import Agent
from agentkit.memory import InMemoryMemory
from agentkit.memory.notes import NotesStore, SQLiteNotes, notes_tools
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel, call
from tests._memory_backends import postgres_dsn

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgres"])
async def notes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NotesStore]:
    """Each notes backend, fresh and empty."""
    if request.param == "sqlite":
        store = SQLiteNotes(tmp_path / "notes.db")
        yield store
        store.close()
    else:
        dsn = postgres_dsn()
        from agentkit.memory.notes import PostgresNotes  # noqa: PLC0415 - psycopg only when configured

        postgres = PostgresNotes(dsn, table=f"agentkit_test_notes_{uuid.uuid4().hex[:12]}")
        try:
            yield postgres
        finally:
            await postgres.drop_table()


async def test_search_finds_notes_by_any_word_best_match_first(notes: NotesStore) -> None:
    """A note holding more of the query's words ranks above one holding fewer; others are left out."""
    await notes.add("Alice prefers window seats on long flights")
    await notes.add("Bob is vegetarian")
    await notes.add("Alice flights: always book window seats, never aisle")
    found = await notes.search("window seats aisle")
    assert [n.text for n in found] == [
        "Alice flights: always book window seats, never aisle",
        "Alice prefers window seats on long flights",
    ]
    assert await notes.search("nothing matches this") == []


async def test_query_syntax_characters_are_plain_words(notes: NotesStore) -> None:
    """Quotes, operators and punctuation in a query never raise; only its words count."""
    await notes.add("The budget is 1200 EUR")
    for query in ['"budget', "budget AND OR NOT", "budget*", "-budget (", "'; DROP TABLE x; --", "", "!!!"]:
        found = await notes.search(query)
        assert [n.text for n in found] in ([], ["The budget is 1200 EUR"])
    assert [n.text for n in await notes.search("budget?")] == ["The budget is 1200 EUR"]


async def test_limit_and_delete(notes: NotesStore) -> None:
    """Search returns at most ``limit`` notes; a deleted note is no longer found."""
    added = [await notes.add(f"trip note {i}") for i in range(4)]
    assert len(await notes.search("trip", limit=2)) == 2
    await notes.delete(added[0].id)
    await notes.delete(added[0].id)
    assert {n.id for n in await notes.search("trip")} == {n.id for n in added[1:]}


async def test_agents_remember_in_one_session_and_recall_in_another(tmp_path: Path) -> None:
    """Notes are shared across sessions: what one run saves with remember, another finds with recall."""
    store = SQLiteNotes(tmp_path / "shared.db")
    tools = notes_tools(store)
    memory = InMemoryMemory()
    writer = ScriptedModel([call("remember", {"note": "Alice is allergic to peanuts"}), "Noted."])
    await Agent(writer, tools=tools, memory=memory).run("Remember my allergy", session="alice-1")
    reader = ScriptedModel([call("recall", {"query": "allergic"}), "You are allergic to peanuts."])
    result = await Agent(reader, tools=tools, memory=memory).run("What am I allergic to?", session="alice-2")
    recalled = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert recalled.content == "[1] Alice is allergic to peanuts"
    assert [t.name for t in tools] == ["remember", "recall"]
    store.close()
