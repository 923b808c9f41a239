"""The hook that persists a run's turns into a stored session."""

from __future__ import annotations

from collections.abc import Sequence

from agentkit.hooks import RunHooks, RunInfo
from agentkit.memory.abstract import Memory
from agentkit.messages import Message, SystemMessage

__all__ = ["SessionHook"]


class SessionHook(RunHooks):
    """Append each completed turn to ``session`` in ``memory`` (system instructions are not stored)."""

    def __init__(self, memory: Memory, session: str) -> None:
        self.memory = memory
        self.session = session

    async def after_turn(self, messages: Sequence[Message], info: RunInfo) -> None:
        """Store the turn as one atomic append."""
        stored = [m for m in messages if not isinstance(m, SystemMessage)]
        if stored:
            await self.memory.append(self.session, stored)
