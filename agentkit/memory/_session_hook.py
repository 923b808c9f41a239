"""The hook that persists a run's turns (and the summaries that replace older ones) into a session."""

from __future__ import annotations

from collections.abc import Sequence

from agentkit.hooks import RunHooks, RunInfo
from agentkit.memory.abstract import Memory, Summary, SummaryMemory
from agentkit.memory.repair import repair_history
from agentkit.messages import Message, SystemMessage, UserMessage
from agentkit.model_types import ModelRequest

__all__ = ["SessionHook", "is_summary", "open_session"]

#: How a summary message starts ([`Summarize`][agentkit.memory.context.Summarize] writes it).
SUMMARY_PREFIX = "Summary of the earlier conversation (older turns were compacted):\n"


def is_summary(message: Message) -> bool:
    """Whether ``message`` is a summary written by [`Summarize`][agentkit.memory.context.Summarize]."""
    return isinstance(message, UserMessage) and message.content.startswith(SUMMARY_PREFIX)


async def open_session(memory: Memory, session: str) -> tuple[list[Message], SessionHook]:
    """Return the history a run on ``session`` starts from, and the hook that stores what it adds.

    When the memory keeps summaries and the session has one, the history is the
    summary followed by the raw messages it does not cover.
    """
    raw = await memory.load(session)
    summary = await memory.load_summary(session) if isinstance(memory, SummaryMemory) else None
    if summary is not None and not 0 < summary.covers <= len(raw):
        summary = None  # written for messages this load does not hold: ignore it
    offset = 0 if summary is None else summary.covers
    tail = raw[offset:]
    repaired = repair_history(tail, session=session)
    hook = SessionHook(memory, session, offset=offset, loaded=repaired, mappable=repaired == tail)
    if summary is None:
        return repaired, hook
    hook.summary = summary.message
    return [summary.message, *repaired], hook


class SessionHook(RunHooks):
    """Append each completed turn to ``session`` in ``memory`` (system instructions are not stored).

    When a hook before it ([`FitContext`][agentkit.memory.context.FitContext] with
    [`Summarize`][agentkit.memory.context.Summarize]) replaced older messages of the request
    with a new summary, the summary is stored too (if the memory keeps summaries), with
    the number of leading session messages it stands for.
    """

    def __init__(
        self,
        memory: Memory,
        session: str,
        *,
        offset: int = 0,
        loaded: Sequence[Message] = (),
        mappable: bool = True,
    ) -> None:
        self.memory = memory
        self.session = session
        self.summary: Message | None = None
        self._offset = offset  # session messages before ``_known[0]``
        self._known = list(loaded)  # the session's messages from ``offset`` on, as this run holds them
        self._mappable = mappable  # False when repair changed the loaded messages: indexes would lie

    async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
        """Store a summary that a hook before this one put in the request; send the request unchanged."""
        messages = request.messages
        start = next((i for i, m in enumerate(messages) if not isinstance(m, SystemMessage)), len(messages))
        if start == len(messages) or not is_summary(messages[start]) or messages[start] == self.summary:
            return request
        if self._mappable and isinstance(self.memory, SummaryMemory):
            following = messages[start + 1] if start + 1 < len(messages) else None
            position = next((i for i, m in enumerate(self._known) if m is following), len(self._known))
            summary = Summary(covers=self._offset + position, message=messages[start])
            await self.memory.save_summary(self.session, summary)
        self.summary = messages[start]
        return request

    async def after_turn(self, messages: Sequence[Message], info: RunInfo) -> None:
        """Store the turn as one atomic append."""
        stored = [m for m in messages if not isinstance(m, SystemMessage)]
        if stored:
            await self.memory.append(self.session, stored)
            self._known.extend(stored)
