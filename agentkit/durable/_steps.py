"""Model calls, tool calls and memory writes as DBOS steps.

Inside a durable run (a DBOS workflow) each call is checkpointed in the
system database when it completes; when a crashed run is recovered, DBOS
returns the checkpointed outcome instead of calling again. Outside a
workflow every wrapper simply calls through.

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
from dbos import DBOS, StepReservation

from agentkit._run_context import RunContext, idempotency_scope
from agentkit.exceptions import ModelError
from agentkit.hooks import RunHooks, RunInfo
from agentkit.memory.abstract import Memory
from agentkit.messages import Message, tool_call_key
from agentkit.models.abstract import Model, ModelRequest, ModelResponse, ModelStreamEvent
from agentkit.tool import Tool, ToolOutput, ToolSource

__all__ = [
    "DurableMemory",
    "DurableModel",
    "DurableTool",
    "DurableToolSource",
    "ReserveToolSteps",
    "RunSteps",
    "StepGate",
    "idempotency_key",
]

T = TypeVar("T")


@dataclass(kw_only=True, slots=True)
class RunSteps:
    """The step bookkeeping of one durable run (one per workflow execution)."""

    workflow_id: str
    #: Step ids drawn for the tool calls of a model response, by agentkit's call key.
    reserved: dict[str, StepReservation] = field(default_factory=dict)


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


async def _checkpointed(
    name: str,
    reservation: StepReservation | None,
    call: Callable[[], Awaitable[T]],
    fallback: type[Exception],
) -> T:
    """Run ``call`` as one DBOS step named ``name`` (at ``reservation`` when given)."""

    async def step() -> _Outcome[T]:
        try:
            return _Outcome(value=await call())
        except Exception as err:
            return _failure(err, fallback)

    options: Any = {"name": name}
    await STEPS.enter()
    try:
        if reservation is not None:
            outcome: _Outcome[T] = await reservation.run_async(options, step)
        else:
            outcome = await DBOS.run_step_async(options, step)
    finally:
        STEPS.leave()
    return outcome.unwrap()


class ReserveToolSteps(RunHooks):
    """Draws a step id for every tool call of a model response, in the model's order.

    Tool calls of one turn run concurrently; drawing their step ids up front,
    from the run's own task, gives each call the same step id on every
    execution whatever order the calls happen to start in.
    """

    async def after_model_call(self, response: ModelResponse, info: RunInfo) -> ModelResponse:
        """Reserve one step per tool call (nothing outside a durable run)."""
        steps = CURRENT_RUN.get()
        if steps is not None:
            for index in range(len(response.message.tool_calls)):
                steps.reserved[tool_call_key(info.turn, index)] = DBOS.reserve_step()
        return response


class DurableModel:
    """A [`Model`][agentkit.models.abstract.Model] whose every call is a DBOS step.

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
            f"model:{self.model_name}", None, lambda: self.inner.complete(request), ModelError
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Yield the final response of one checkpointed streamed call."""
        if CURRENT_RUN.get() is None:
            async for event in self.inner.stream(request):
                yield event
            return
        yield await _checkpointed(f"model:{self.model_name}", None, lambda: self._drain(request), ModelError)

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
    """A [`Tool`][agentkit.tool.Tool] whose every call is a DBOS step; build with `wrap`.

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
        reservation = steps.reserved.pop(ctx.tool_call_key, None)

        async def keyed_call() -> str | ToolOutput:
            with idempotency_scope(key):
                return await self.inner.invoke(arguments, keyed)

        return await _checkpointed(f"tool:{self.name}", reservation, keyed_call, RuntimeError)


class DurableToolSource:
    """A [`ToolSource`][agentkit.tool.ToolSource] whose tools are `DurableTool`s."""

    def __init__(self, inner: ToolSource) -> None:
        self.inner = inner

    async def list_tools(self) -> Sequence[Tool]:
        """The wrapped source's current tools, each wrapped."""
        return [DurableTool.wrap(t) for t in await self.inner.list_tools()]


class DurableMemory:
    """A [`Memory`][agentkit.memory.abstract.Memory] whose loads and appends are DBOS steps.

    A recovered run sees the session as it was when the run first started and
    does not store again the turns it had stored before the crash.
    """

    def __init__(self, inner: Memory) -> None:
        self.inner = inner

    async def load(self, session: str) -> list[Message]:
        """The session's messages, checkpointed."""
        if CURRENT_RUN.get() is None:
            return await self.inner.load(session)
        return await _checkpointed("memory:load", None, lambda: self.inner.load(session), RuntimeError)

    async def append(self, session: str, messages: Sequence[Message]) -> None:
        """Store one turn, once per durable run."""
        if CURRENT_RUN.get() is None:
            await self.inner.append(session, messages)
            return
        await _checkpointed("memory:append", None, lambda: self.inner.append(session, messages), RuntimeError)

    async def list_sessions(self) -> list[str]:
        """The wrapped memory's sessions."""
        return await self.inner.list_sessions()

    async def delete(self, session: str) -> None:
        """Delete in the wrapped memory."""
        await self.inner.delete(session)

    async def fork(self, source: str, target: str) -> None:
        """Fork in the wrapped memory."""
        await self.inner.fork(source, target)
