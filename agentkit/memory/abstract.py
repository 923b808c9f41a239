"""The Memory protocol: where conversation sessions are stored.

A session is an ordered list of messages under a name. ``append`` stores one
completed turn atomically: a reader never sees a tool call without its
result. Backends live beside this module, one per file.

A backend that also implements `SummaryMemory` keeps, per session, the
latest `Summary` of its older messages: ``load`` still returns every raw
message, and ``load_summary`` says which leading ones the summary replaces, so
a later run (in any process) starts from the summary instead of writing it
again. Sessions only grow, so "the first ``covers`` messages" never changes
meaning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentkit.exceptions import SessionIdError
from agentkit.messages import Message

__all__ = ["MAX_SESSION_CHARS", "Memory", "Summary", "SummaryMemory", "check_session"]

#: The longest session id a memory accepts.
MAX_SESSION_CHARS = 512

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_session(session: str) -> str:
    """Return ``session`` if it can name a session in every backend, else raise.

    A session id is a non-empty string of at most `MAX_SESSION_CHARS` characters
    without control characters: PostgreSQL refuses NUL in text, and ids are printed by
    ``agentkit sessions``. Every built-in backend calls this on every id it is given.

    >>> check_session("alice")
    'alice'

    Raises:
        SessionIdError: the id is not a string, is empty or too long, or holds a control character.
    """
    if not isinstance(session, str) or not session:
        raise SessionIdError(f"a session id must be a non-empty string, not {session!r}")
    if len(session) > MAX_SESSION_CHARS:
        raise SessionIdError(f"a session id has at most {MAX_SESSION_CHARS} characters, not {len(session)}")
    found = _CONTROL.search(session)
    if found is not None:
        raise SessionIdError(
            f"a session id may not contain control characters; {session[:40]!r} has "
            f"U+{ord(found.group()):04X} at position {found.start()}"
        )
    return session


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


@dataclass(frozen=True, kw_only=True, slots=True)
class Summary:
    """A message standing in for the first ``covers`` raw messages of a session.

    >>> from agentkit.messages import UserMessage
    >>> Summary(covers=12, message=UserMessage(content="They planned a trip.")).covers
    12
    """

    covers: int
    message: Message


@runtime_checkable
class SummaryMemory(Memory, Protocol):
    """A `Memory` that also stores each session's latest summary (all built-in backends do)."""

    async def save_summary(self, session: str, summary: Summary) -> None:
        """Store ``summary`` as the session's summary, unless the stored one covers more messages."""
        ...

    async def load_summary(self, session: str) -> Summary | None:
        """Return the session's latest summary (``None`` if it has none)."""
        ...
