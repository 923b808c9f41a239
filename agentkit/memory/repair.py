"""Repair a stored history so a provider accepts it.

Providers reject a conversation in which an assistant's tool call is not
answered by a tool message right after it, or in which a tool message answers
no call. Histories written by agentkit never break this rule, but one read from
an old file or written by another tool may. `repair_history` fixes it:

- a tool call without a result gets an explanatory error result;
- a tool result that answers no call of the assistant message just before it
  (or answers one twice) is dropped;

and logs one warning saying what it changed. A result answers the first call not
yet answered that has its id: the model may repeat an id, and two calls sharing
one keep their two results.

>>> from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
>>> broken = [
...     UserMessage(content="go"),
...     AssistantMessage(tool_calls=(ToolCall(id="functions.f:0", name="f", arguments="{}"),)),
...     ToolMessage(tool_call_id="functions.g:9", name="g", content="stray"),
... ]
>>> [(m.role, getattr(m, "tool_call_id", None)) for m in repair_history(broken)]
[('user', None), ('assistant', None), ('tool', 'functions.f:0')]
"""

from __future__ import annotations

from collections.abc import Sequence

from agentkit._log import get_logger
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage

__all__ = ["MISSING_RESULT", "repair_history"]

_log = get_logger("agentkit.memory")

#: The content of the result added for a tool call that has none.
MISSING_RESULT = (
    "This tool call has no result: the conversation was interrupted before it finished. "
    "Call the tool again if the result is still needed."
)


def repair_history(messages: Sequence[Message], *, session: str | None = None) -> list[Message]:
    """Return ``messages`` with every tool call answered and every stray result dropped.

    An unbroken history is returned unchanged (as a new list); otherwise a
    ``history_repaired`` warning is logged with the counts (and ``session``).
    """
    repaired: list[Message] = []
    pending: list[ToolCall] = []
    added = dropped = 0
    for message in messages:
        if isinstance(message, ToolMessage):
            answered = next((c for c in pending if c.id == message.tool_call_id), None)
            if answered is None:
                dropped += 1
            else:
                pending.remove(answered)
                repaired.append(message)
            continue
        added += _answer(pending, repaired)
        repaired.append(message)
        if isinstance(message, AssistantMessage):
            pending = list(message.tool_calls)
    added += _answer(pending, repaired)
    if added or dropped:
        _log.warning("history_repaired", session=session, orphaned_calls=added, orphaned_results=dropped)
    return repaired


def _answer(pending: list[ToolCall], out: list[Message]) -> int:
    """Append an error result for each unanswered call in ``pending`` (then empty it)."""
    count = len(pending)
    out.extend(
        ToolMessage(tool_call_id=c.id, name=c.name, content=MISSING_RESULT, is_error=True) for c in pending
    )
    pending.clear()
    return count
