"""Model calls, tool calls and memory writes as checkpointed steps of a durable run.

Inside a durable run (a DBOS workflow) each call's outcome is recorded in the
system database when it completes (see `agentkit.durable._checkpoints`); a
recovered run replays the calls recorded before instead of calling again.
Outside a workflow every wrapper simply calls through.

A step is keyed by what makes it the same call on every execution: a tool call
by agentkit's call key (turn and position in the model's answer, whatever order
the concurrent calls start in), a model call or memory access by its place in
the run's sequence of them (they are made one after another).

Outcomes, failures included, cross the checkpoint as `_Outcome`
values: agentkit's exceptions take keyword arguments, which plain pickling
of an exception cannot rebuild, so a failure is stored as its class, args
and attributes and raised again after the step.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

import anyio

from agentkit._run_context import RunContext, idempotency_scope
from agentkit.durable._checkpoints import CheckpointStore, Stored
from agentkit.exceptions import ModelError, UserError
from agentkit.memory.abstract import Memory
from agentkit.messages import Message
from agentkit.models.abstract import Model, ModelRequest, ModelResponse, ModelStreamEvent
from agentkit.tool import Tool, ToolOutput, ToolSource

__all__ = [
    "DurableMemory",
    "DurableModel",
    "DurableTool",
    "DurableToolSource",
    "RunSteps",
    "StepGate",
    "idempotency_key",
]

T = TypeVar("T")


@dataclass(kw_only=True, slots=True)
class RunSteps:
    """The step bookkeeping of one execution of a durable run."""

    workflow_id: str
    #: DBOS's ownership token of this execution: only it may record the run's steps.
    owner: str
    #: Where the checkpoints are.
    store: CheckpointStore
    #: The checkpoints recorded before this execution started, by step key.
    recorded: dict[str, Stored] = field(default_factory=dict)
    #: How many sequential steps (model calls, memory accesses) this execution has reached.
    sequence: int = 0

    def next_key(self) -> str:
        """The key of the run's next sequential step."""
        self.sequence += 1
        return str(self.sequence)


#: Set by the workflow for the run it executes; ``None`` outside durable runs.
CURRENT_RUN: ContextVar[RunSteps | None] = ContextVar("agentkit_durable_run", default=None)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Outcome(Generic[T]):
    """What a step produced: a value, or a failure to raise again (class, args, attributes)."""

    value: T | None = None
    error: tuple[type[BaseException], tuple[Any, ...], dict[str, Any]] | None = None

    def unwrap(self) -> T:
        if self.error is None:
            return self.value  # type: ignore[return-value]  # None only when T allows it
        cls, args, state = self.error
        err = cls.__new__(cls)
        err.args = args
        err.__dict__.update(state)
        raise err


class StepGate:
    """Counts the steps in flight in this process and, once closed, holds back new ones.

    A worker told to stop closes the gate: the steps already running finish and
    are checkpointed, the runs' next steps wait forever, and the worker then hands
    its runs back to the queue and exits. Nothing in flight is cut off, so the
    runs resume elsewhere without repeating a call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self.closed = False

    @property
    def in_flight(self) -> int:
        """Steps started and not yet checkpointed."""
        with self._lock:
            return self._in_flight

    def close(self) -> None:
        """Let no new step start (those running finish)."""
        self.closed = True

    async def enter(self) -> None:
        """Count a step in, or wait forever when the gate is closed (the process is about to exit)."""
        if self.closed:
            await anyio.sleep_forever()
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        """Count a step out (after its checkpoint was written)."""
        with self._lock:
            self._in_flight -= 1


#: The gate of this process's durable steps.
STEPS = StepGate()


def _failure(err: Exception, fallback: type[Exception]) -> _Outcome[Any]:
    """Store ``err`` so that it can be raised again after a recovery (``fallback`` if it cannot)."""
    stored = (type(err), err.args, dict(getattr(err, "__dict__", {})))
    try:
        pickle.loads(pickle.dumps(stored))  # noqa: S301 - our own bytes, just written
    except Exception:  # anything unpicklable in the error: keep its type name and text
        stored = (fallback, (f"{type(err).__name__}: {err}",), {})
    return _Outcome(error=stored)


def _pickled(outcome: _Outcome[T], fallback: type[Exception]) -> tuple[bytes, _Outcome[T]]:
    """``outcome`` as checkpoint bytes, and the outcome they hold.

    An outcome that cannot be pickled becomes a ``fallback`` failure, the same on
    this execution and on a replay.
    """
    try:
        return pickle.dumps(outcome), outcome
    except Exception as err:  # e.g. a result holding an open file: the call fails, clearly, once
        value = outcome.value if outcome.error is None else outcome.error[0]
        error = fallback(
            f"the result ({type(value).__name__}) cannot be checkpointed: {type(err).__name__}: {err}"
        )
        failed: _Outcome[T] = _failure(error, fallback)
        return pickle.dumps(failed), failed


async def _checkpointed(
    key: str | None,
    name: str,
    call: Callable[[], Awaitable[T]],
    fallback: type[Exception],
) -> T:
    """Run ``call`` as the step ``key`` of the current run, or replay its recorded outcome.

    ``key`` ``None``: the run's next sequential step. Calls made inside the step
    (a tool that runs an agent...) are part of it, not steps of their own.
    """
    steps = CURRENT_RUN.get()
    assert steps is not None  # the wrappers call through outside durable runs
    key = steps.next_key() if key is None else key
    stored = steps.recorded.pop(key, None)
    if stored is None:
        await STEPS.enter()
        try:
            inner = CURRENT_RUN.set(None)
            try:
                outcome: _Outcome[T] = _Outcome(value=await call())
            except Exception as err:
                outcome = _failure(err, fallback)
            finally:
                CURRENT_RUN.reset(inner)
            data, outcome = _pickled(outcome, fallback)
            stored = await steps.store.record(steps.workflow_id, steps.owner, key, name, data)
        finally:
            STEPS.leave()
        if stored[1] is data:
            return outcome.unwrap()
    recorded_name, data = stored
    if recorded_name != name:
        raise UserError(
            f"run {steps.workflow_id!r} recorded step {key} as {recorded_name!r}, but now runs {name!r}"
            " there: the agent changed since the run started (recover runs with the code that started them)"
        )
    replayed: _Outcome[T] = pickle.loads(data)  # noqa: S301 - our own checkpoint, written by this code
    return replayed.unwrap()


class DurableModel:
    """A [`Model`][agentkit.models.abstract.Model] whose every call is a checkpointed step.

    A streamed call is consumed whole inside the step: a durable run sees the
    final response, not the deltas (a recovered call has none to give).
    Other attributes (``profile``, ``aclose``...) are the wrapped model's.
    """

    def __init__(self, inner: Model) -> None:
        self.inner = inner

    @property
    def model_name(self) -> str:
        """The wrapped model's name."""
        return self.inner.model_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One checkpointed call (a plain call outside a durable run)."""
        if CURRENT_RUN.get() is None:
            return await self.inner.complete(request)
        return await _checkpointed(
            None, f"model:{self.model_name}", lambda: self.inner.complete(request), ModelError
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Yield the final response of one checkpointed streamed call."""
        if CURRENT_RUN.get() is None:
            async for event in self.inner.stream(request):
                yield event
            return
        yield await _checkpointed(None, f"model:{self.model_name}", lambda: self._drain(request), ModelError)

    async def _drain(self, request: ModelRequest) -> ModelResponse:
        async for event in self.inner.stream(request):
            if isinstance(event, ModelResponse):
                return event
        raise ModelError("the model's stream ended without a response")


def idempotency_key(workflow_id: str, call_key: str) -> str:
    """The key a side-effect tool de-duplicates on: the same for every execution of one call.

    ``call_key`` is agentkit's key for the call (turn and position in the model's answer),
    not the model's call id, which the model may repeat.

    >>> idempotency_key("batch-7", "2.1")
    'batch-7:2.1'
    """
    return f"{workflow_id}:{call_key}"


@dataclass(frozen=True, kw_only=True, slots=True)
class DurableTool(Tool):
    """A [`Tool`][agentkit.tool.Tool] whose every call is a checkpointed step; build with `wrap`.

    The model sees the wrapped tool unchanged. In a durable run the call gets
    ``RunContext.idempotency_key`` and its result (or failure) is checkpointed.
    """

    inner: Tool

    @classmethod
    def wrap(cls, tool: Tool) -> DurableTool:
        """Wrap ``tool`` (a tool already wrapped is returned as is)."""
        if isinstance(tool, DurableTool):
            return tool
        values = {f.name: getattr(tool, f.name) for f in fields(tool)}
        return cls(**values, inner=tool)

    async def invoke(self, arguments: str, ctx: RunContext[Any] | None = None) -> str | ToolOutput:
        """Run the wrapped tool as a checkpointed step (a plain call outside a durable run)."""
        steps = CURRENT_RUN.get()
        if steps is None or ctx is None or ctx.tool_call_key is None:
            return await self.inner.invoke(arguments, ctx)
        key = idempotency_key(steps.workflow_id, ctx.tool_call_key)
        keyed = replace(ctx, idempotency_key=key)

        async def keyed_call() -> str | ToolOutput:
            with idempotency_scope(key):
                return await self.inner.invoke(arguments, keyed)

        return await _checkpointed(f"tool {ctx.tool_call_key}", f"tool:{self.name}", keyed_call, RuntimeError)


class DurableToolSource:
    """A [`ToolSource`][agentkit.tool.ToolSource] whose tools are `DurableTool`s."""

    def __init__(self, inner: ToolSource) -> None:
        self.inner = inner

    async def list_tools(self) -> Sequence[Tool]:
        """The wrapped source's current tools, each wrapped."""
        return [DurableTool.wrap(t) for t in await self.inner.list_tools()]


class DurableMemory:
    """A [`Memory`][agentkit.memory.abstract.Memory] whose loads and appends are checkpointed steps.

    A recovered run sees the session as it was when the run first started and
    does not store again the turns it had stored before the crash.
    """

    def __init__(self, inner: Memory) -> None:
        self.inner = inner

    async def load(self, session: str) -> list[Message]:
        """The session's messages, checkpointed."""
        if CURRENT_RUN.get() is None:
            return await self.inner.load(session)
        return await _checkpointed(None, "memory:load", lambda: self.inner.load(session), RuntimeError)

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Store one turn, once per durable run."""
        if CURRENT_RUN.get() is None:
            await self.inner.append(session, messages)
            return
        await _checkpointed(None, "memory:append", lambda: self.inner.append(session, messages), RuntimeError)

    async def list_sessions(self) -> list[str]:
        """The wrapped memory's sessions."""
        return await self.inner.list_sessions()

    async def delete(self, session: str) -> None:
        """Delete in the wrapped memory."""
        await self.inner.delete(session)

    async def fork(self, source: str, target: str) -> None:
        """Fork in the wrapped memory."""
        await self.inner.fork(source, target)
