"""The Memory protocol: where conversation sessions are stored.

A session is an ordered list of messages under a name. ``append`` stores one
completed turn atomically: a reader never sees a tool call without its
result. Backends live beside this module, one per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agentkit.messages import Message

__all__ = ["Memory"]


@runtime_checkable
class Memory(Protocol):
    """Stores conversation sessions."""

    async def load(self, session: str) -> list[Message]:
        """Return the session's messages in order (empty for an unknown session)."""
        ...

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Add one completed turn's messages to the session, atomically."""
        ...

    async def list_sessions(self) -> list[str]:
        """Return the names of the stored sessions."""
        ...

    async def delete(self, session: str) -> None:
        """Remove a session and its messages (no error if it does not exist)."""
        ...

    async def fork(self, source: str, target: str) -> None:
        """Copy session ``source`` to a new session ``target``."""
        ...
