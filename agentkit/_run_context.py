"""RunContext: what a tool (or a hook) may know about the run it is part of."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from agentkit.events import Event
from agentkit.messages import Message
from agentkit.usage import Usage

__all__ = ["DepsT", "RunContext", "UsageBudget", "call_context", "idempotency_scope"]

DepsT = TypeVar("DepsT")

#: The idempotency key of the tool call running in this context (durable runs only).
_IDEMPOTENCY_KEY: ContextVar[str | None] = ContextVar("agentkit_idempotency_key", default=None)


@contextmanager
def idempotency_scope(key: str | None) -> Iterator[None]:
    """Make ``key`` what `RunContext.current_idempotency_key` returns inside the block."""
    token = _IDEMPOTENCY_KEY.set(key)
    try:
        yield
    finally:
        _IDEMPOTENCY_KEY.reset(token)


class UsageBudget(Protocol):
    """Where a run's usage is charged: the run itself, and through it every run it is part of."""

    def charge(self, usage: Usage, cost_usd: float, *, check: bool = True) -> None:
        """Add ``usage`` and ``cost_usd``; with ``check``, raise ``UsageLimitExceeded`` past a limit."""
        ...


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
        tool_call_id: the model's id of the call being run, as sent on the wire (``None``
            outside a tool call); the model chooses it and may repeat it.
        tool_call_key: agentkit's key of the call being run, unique in the run (turn and
            position, see [`agentkit.messages.tool_call_key`][]); ``None`` outside a tool call.
        retry: how many earlier calls of this tool failed in this run.
        budget: the run's usage budget; an agent used as a tool charges its sub-run's
            usage and cost to it, so limits and cost are shared (``None`` outside a run).
        emit: hands an event to the run's hooks and stream (e.g. the planning tool's
            ``PlanUpdated``); ``None`` outside a run.
        idempotency_key: a key stable across retries and crash recovery of this one tool
            call (durable runs: workflow id and the call's key; a call of an agent used as
            a tool adds its own key: ``"<run>:1.0/2.1"``), for tools with side effects to
            de-duplicate on; ``None`` outside durable runs.
    """

    deps: DepsT
    run_id: str
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    messages: Sequence[Message] = ()
    tool_call_id: str | None = None
    tool_call_key: str | None = None
    tool_name: str | None = None
    retry: int = 0
    budget: UsageBudget | None = None
    emit: Callable[[Event], None] | None = None
    idempotency_key: str | None = None

    @staticmethod
    def current_idempotency_key() -> str | None:
        """The idempotency key of the tool call running now, for tools that take no ``RunContext``.

        The same value as ``ctx.idempotency_key`` (``None`` outside durable runs).

        >>> RunContext.current_idempotency_key() is None
        True
        """
        return _IDEMPOTENCY_KEY.get()


def call_context(
    ctx: RunContext[DepsT],
    *,
    tool_call_id: str,
    tool_call_key: str,
    tool_name: str,
    retry: int,
    idempotency_key: str | None,
) -> RunContext[DepsT]:
    """``ctx`` for one tool call (``dataclasses.replace`` would do, at several times the cost).

    Every field is named here: a field added to `RunContext` must be added too
    (``tests/test_run_context.py`` checks that none is dropped).
    """
    return RunContext(
        deps=ctx.deps,
        run_id=ctx.run_id,
        turn=ctx.turn,
        usage=ctx.usage,
        messages=ctx.messages,
        tool_call_id=tool_call_id,
        tool_call_key=tool_call_key,
        tool_name=tool_name,
        retry=retry,
        budget=ctx.budget,
        emit=ctx.emit,
        idempotency_key=idempotency_key,
    )
