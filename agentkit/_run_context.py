"""RunContext: what a tool (or a hook) may know about the run it is part of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agentkit.messages import Message
from agentkit.usage import Usage

__all__ = ["DepsT", "RunContext"]

DepsT = TypeVar("DepsT")


@dataclass(frozen=True, kw_only=True, slots=True)
class RunContext(Generic[DepsT]):
    """Injected into any tool parameter annotated ``RunContext`` (hidden from the schema).

    >>> from agentkit import tool
    >>> @tool
    ... def whoami(ctx: RunContext[str]) -> str:
    ...     '''Say which user the run is for.'''
    ...     return ctx.deps
    >>> whoami.parameters["properties"]
    {}

    Attributes:
        deps: the dependencies passed to ``agent.run(..., deps=...)``.
        run_id: this run's id (also in logs and traces).
        turn: the current model turn, counting from 1.
        usage: usage up to the start of this turn.
        messages: the conversation up to the start of this turn.
        tool_call_id: the id of the call being run (``None`` outside a tool call).
        retry: how many earlier calls of this tool failed in this run.
        idempotency_key: a key stable across retries and crash recovery of this one tool
            call (durable runs: workflow id, turn and tool-call id), for tools with side
            effects to de-duplicate on; ``None`` outside durable runs.
    """

    deps: DepsT
    run_id: str
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    messages: Sequence[Message] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None
    retry: int = 0
    idempotency_key: str | None = None
