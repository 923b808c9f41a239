"""Conversation memory: the :class:`Memory` protocol and its backends.

``InMemoryMemory`` (tests), ``SQLiteMemory`` (the embedded default) and
``PostgresMemory`` (many processes or machines; needs ``agentkit[postgres]``,
imported only when used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.memory.abstract import Memory
from agentkit.memory.in_memory import InMemoryMemory
from agentkit.memory.repair import repair_history
from agentkit.memory.sqlite import SQLiteMemory

if TYPE_CHECKING:
    from agentkit.memory.postgres import PostgresMemory

__all__ = ["InMemoryMemory", "Memory", "PostgresMemory", "SQLiteMemory", "repair_history"]


def __getattr__(name: str) -> Any:
    if name == "PostgresMemory":
        from agentkit.memory.postgres import PostgresMemory  # noqa: PLC0415 - psycopg is optional

        return PostgresMemory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
