"""Shared builders for memory tests: each backend as a fixture parameter, and sample turns."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from agentkit.memory import InMemoryMemory, Memory, SQLiteMemory
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage

#: The PostgreSQL server the Postgres tests use (``.ci/run`` starts one and sets this).
POSTGRES_DSN_ENV = "AGENTKIT_TEST_POSTGRES_DSN"


def postgres_dsn() -> str:
    """The configured DSN; otherwise skip the calling test with the reason (fail it in CI)."""
    dsn = os.environ.get(POSTGRES_DSN_ENV)
    if not dsn and os.environ.get("AGENTKIT_CI"):
        pytest.fail(f"{POSTGRES_DSN_ENV} is unset in CI: .ci/run must start the PostgreSQL server")
    if not dsn:
        pytest.skip(f"no PostgreSQL server configured: set {POSTGRES_DSN_ENV} (.ci/run does)")
    return dsn


async def open_backend(kind: str, tmp_path: os.PathLike[str]) -> AsyncIterator[Memory]:
    """Yield a fresh, empty backend of ``kind``, cleaned up afterwards."""
    if kind == "in_memory":
        yield InMemoryMemory()
    elif kind == "sqlite":
        sqlite = SQLiteMemory(os.path.join(tmp_path, "memory.db"))
        yield sqlite
        sqlite.close()
    else:
        dsn = postgres_dsn()
        from agentkit.memory.postgres import PostgresMemory  # noqa: PLC0415 - psycopg only when configured

        postgres = PostgresMemory(dsn, table=f"agentkit_test_{uuid.uuid4().hex[:12]}")
        try:
            yield postgres
        finally:
            await postgres.drop_tables()


def tool_turn(index: int, width: int = 2) -> list[Message]:
    """One user prompt plus an assistant turn of ``width`` parallel calls and their results."""
    calls = tuple(
        ToolCall(id=f"functions.lookup:{index * width + i}", name="lookup", arguments=f'{{"i": {i}}}')
        for i in range(width)
    )
    return [
        UserMessage(content=f"question {index}"),
        AssistantMessage(content=None, tool_calls=calls, reasoning_content=f"thinking {index}"),
        *(ToolMessage(tool_call_id=c.id, name=c.name, content=f"result {c.id}") for c in calls),
    ]
