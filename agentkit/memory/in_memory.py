"""InMemoryMemory: sessions kept in a dict, for tests and short-lived processes."""

from __future__ import annotations

from collections.abc import Sequence

from agentkit.exceptions import UserError
from agentkit.memory.abstract import Summary, check_session
from agentkit.messages import Message

__all__ = ["InMemoryMemory"]


class InMemoryMemory:
    """Sessions held in this process only (lost when it exits).

    Messages are frozen values, so they are stored as given; each append
    happens without an ``await`` in between, so it is atomic within the
    event loop.

    >>> import anyio
    >>> from agentkit.messages import UserMessage
    >>> memory = InMemoryMemory()
    >>> anyio.run(memory.append, "alice", [UserMessage(content="hi")])
    >>> anyio.run(memory.list_sessions)
    ['alice']
    """

    def __init__(self) -> None:
        self._sessions: dict[str, list[Message]] = {}
        self._summaries: dict[str, Summary] = {}

    async def load(self, session: str) -> list[Message]:
        """Return the session's messages in order (empty for an unknown session)."""
        check_session(session)
        return list(self._sessions.get(session, ()))

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Add one turn's messages to the session."""
        check_session(session)
        if messages:
            self._sessions.setdefault(session, []).extend(messages)

    async def list_sessions(self) -> list[str]:
        """Return the names of the stored sessions, sorted."""
        return sorted(self._sessions)

    async def delete(self, session: str) -> None:
        """Remove a session (no error if it does not exist)."""
        check_session(session)
        self._sessions.pop(session, None)
        self._summaries.pop(session, None)

    async def fork(self, source: str, target: str) -> None:
        """Copy session ``source`` to a new session ``target``.

        Raises:
            UserError: ``source`` does not exist or ``target`` already does.
        """
        check_session(source)
        check_session(target)
        if source not in self._sessions:
            raise UserError(f"cannot fork: no session named {source!r}")
        if target in self._sessions:
            raise UserError(f"cannot fork: session {target!r} already exists")
        self._sessions[target] = list(self._sessions[source])
        if source in self._summaries:
            self._summaries[target] = self._summaries[source]

    async def save_summary(self, session: str, summary: Summary) -> None:
        """Store ``summary`` as the session's summary, unless the stored one covers more messages."""
        check_session(session)
        current = self._summaries.get(session)
        if current is None or summary.covers >= current.covers:
            self._summaries[session] = summary

    async def load_summary(self, session: str) -> Summary | None:
        """Return the session's latest summary (``None`` if it has none)."""
        check_session(session)
        return self._summaries.get(session)
