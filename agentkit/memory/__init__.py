"""Conversation memory: the `Memory` protocol and its backends.

``InMemoryMemory`` (tests), ``SQLiteMemory`` (the embedded default) and
``PostgresMemory`` (many processes or machines; needs ``agentkit[postgres]``,
imported only when used). Fitting the context window: `FitContext`
with `DropOldest` or `Summarize` ([`agentkit.memory.context`][]);
summaries are stored in the session (`SummaryMemory`), raw turns kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.memory.abstract import Memory, Summary, SummaryMemory
from agentkit.memory.in_memory import InMemoryMemory
from agentkit.memory.repair import repair_history
from agentkit.memory.sqlite import SQLiteMemory

if TYPE_CHECKING:
    from agentkit.memory.context import DropOldest, FitContext, Summarize
    from agentkit.memory.postgres import PostgresMemory

__all__ = [
    "DropOldest",
    "FitContext",
    "InMemoryMemory",
    "Memory",
    "PostgresMemory",
    "SQLiteMemory",
    "Summarize",
    "Summary",
    "SummaryMemory",
    "repair_history",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresMemory":
        from agentkit.memory.postgres import PostgresMemory  # noqa: PLC0415 - psycopg is optional

        return PostgresMemory
    if name in ("DropOldest", "FitContext", "Summarize"):
        from agentkit.memory import context  # noqa: PLC0415 - loads the hook machinery only when used

        return getattr(context, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
