"""Run one turn's tool calls: concurrently, capped, in the model's order.

Every call ends as exactly one `ToolMessage`, whatever happens:
malformed arguments, an unknown tool, an exception, a timeout. Nothing here
raises out of a call except cancellation; a `StopRun` is reported in
the outcome so the loop can end the run after the batch has finished, and a
paused sub-run (an agent used as a tool) is reported with its state so the
loop can pause the calling run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import anyio.abc

from agentkit._log import get_logger
from agentkit._nested import SubRunPaused, SubRunResume, resuming
from agentkit._run_context import RunContext, call_context, idempotency_scope
from agentkit.events import Event, ToolCallFinished, ToolCallStarted
from agentkit.exceptions import ModelRetry, StopRun, ToolArgumentsError
from agentkit.messages import ToolCall, ToolMessage
from agentkit.models._tool_markup import UNREADABLE_CALL
from agentkit.run_state import NESTED_KEY_SEPARATOR, RunState
from agentkit.tool import Tool, ToolOutput, Toolset

__all__ = ["CallOutcome", "KeyedCall", "Launch", "Launcher", "run_tool_calls"]

_log = get_logger("agentkit.tools")

#: Builtin functions executed by the provider's server: the loop echoes the arguments back.
_BUILTIN_ECHO = "builtin_function"


@dataclass(frozen=True, kw_only=True, slots=True)
class CallOutcome:
    """How one tool call ended.

    ``paused`` is the state of an agent's run the call started (``agent.as_tool()``)
    that waits for decisions; ``message`` is then an error result for callers that
    cannot pause.
    """

    message: ToolMessage
    failed: bool = False
    stop: StopRun | None = None
    paused: RunState | None = None


#: A call to run with agentkit's key for it (see [`agentkit.messages.tool_call_key`][]).
KeyedCall = tuple[str, ToolCall]


async def run_tool_calls(
    calls: Sequence[KeyedCall],
    toolset: Toolset,
    ctx: RunContext[Any],
    *,
    emit: Callable[[Event], None],
    limiter: anyio.CapacityLimiter,
    failures: dict[str, int],
    resumes: Mapping[str, SubRunResume] | None = None,
) -> list[CallOutcome]:
    """Run ``calls`` and return one outcome per call, in the same order.

    Calls run concurrently (at most ``limiter`` at a time); a tool declared
    ``sequential`` waits for the calls before it and runs alone, a barrier.
    ``failures`` (tool name -> earlier failures) feeds ``RunContext.retry``;
    ``resumes`` (by call key) continues the paused sub-runs of those calls.
    """
    batch_runner = _Batch(
        calls=list(calls),
        toolset=toolset,
        ctx=ctx,
        emit=emit,
        limiter=limiter,
        failures=failures,
        resumes=resumes or {},
    )
    for batch in _batches(calls, toolset):
        async with anyio.create_task_group() as tg:
            for index in batch:
                tg.start_soon(batch_runner.run, index)
    return [o for o in batch_runner.outcomes if o is not None]


@dataclass(kw_only=True, slots=True)
class Launch:
    """A call started ahead of its turn's tool phase (while the model still streams)."""

    key: str
    call: ToolCall
    outcome: CallOutcome | None = None
    #: Made when someone waits for the call before it ended (most calls have ended by then).
    _ended: anyio.Event | None = None

    async def wait(self) -> CallOutcome:
        """Wait for the call to end and return its outcome (at once when it has ended)."""
        if self.outcome is None:
            if self._ended is None:
                self._ended = anyio.Event()
            await self._ended.wait()
        assert self.outcome is not None  # set before the event
        return self.outcome

    def end(self, outcome: CallOutcome) -> None:
        """Record the call's outcome and wake whoever waits for it."""
        self.outcome = outcome
        if self._ended is not None:
            self._ended.set()

    async def run(self, runner: _Batch, index: int) -> None:
        """Run call ``index`` of ``runner`` (this launch's call) and record how it ended."""
        await runner.run(index)
        outcome = runner.outcomes[index]
        assert outcome is not None  # run() sets it
        self.end(outcome)


@dataclass(kw_only=True, slots=True)
class Launcher:
    """Starts calls one at a time in a task group (a streamed turn's early calls).

    The calls share one runner: their context, events and limits are those of any other call.
    """

    tg: anyio.abc.TaskGroup
    runner: _Batch

    @classmethod
    def of(
        cls,
        tg: anyio.abc.TaskGroup,
        toolset: Toolset,
        ctx: RunContext[Any],
        *,
        emit: Callable[[Event], None],
        limiter: anyio.CapacityLimiter,
        failures: dict[str, int],
    ) -> Launcher:
        """A launcher for ``ctx``'s turn that starts its calls in ``tg``."""
        runner = _Batch(calls=[], toolset=toolset, ctx=ctx, emit=emit, limiter=limiter, failures=failures)
        return cls(tg=tg, runner=runner)

    def launch(self, key: str, call: ToolCall) -> Launch:
        """Start ``call`` now."""
        runner = self.runner
        index = len(runner.calls)
        runner.calls.append((key, call))
        runner.outcomes.append(None)
        started = Launch(key=key, call=call)
        self.tg.start_soon(started.run, runner, index)
        return started


def _batches(calls: Sequence[KeyedCall], toolset: Toolset) -> list[list[int]]:
    """Group call indexes: runs of concurrent calls, each sequential call alone."""
    batches: list[list[int]] = [[]]
    for index, (_, tool_call) in enumerate(calls):
        found = toolset.get(tool_call.name)
        if found is not None and found.sequential:
            batches.extend(([index], []))
        else:
            batches[-1].append(index)
    return [b for b in batches if b]


@dataclass(kw_only=True, slots=True)
class _Batch:
    """One turn's calls and what they share; ``outcomes[i]`` is filled in by call ``i``."""

    calls: list[KeyedCall]
    toolset: Toolset
    ctx: RunContext[Any]
    emit: Callable[[Event], None]
    limiter: anyio.CapacityLimiter
    failures: dict[str, int]
    resumes: Mapping[str, SubRunResume] = field(default_factory=dict)
    outcomes: list[CallOutcome | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outcomes = [None] * len(self.calls)

    async def run(self, index: int) -> None:
        key, tool_call = self.calls[index]
        self.emit(ToolCallStarted(turn=self.ctx.turn, call=tool_call, key=key))
        started = time.perf_counter()
        limiter = self.limiter
        try:
            # A free slot is taken at once; ``async with limiter`` would also pass through the
            # event loop first (a checkpoint), once per call.
            limiter.acquire_nowait()
        except anyio.WouldBlock:
            await limiter.acquire()
        try:
            with resuming(self.resumes.get(key)):
                outcome = await _run_one(key, tool_call, self.toolset, self.ctx, self.failures)
        finally:
            limiter.release()
        self.outcomes[index] = outcome
        duration = time.perf_counter() - started
        self.emit(
            ToolCallFinished(
                turn=self.ctx.turn,
                call=tool_call,
                key=key,
                result=outcome.message,
                duration_s=duration,
                retry=self.failures.get(tool_call.name, 0),
            )
        )


async def _run_one(
    key: str, tool_call: ToolCall, toolset: Toolset, ctx: RunContext[Any], failures: dict[str, int]
) -> CallOutcome:
    if tool_call.type == _BUILTIN_ECHO:
        # Kimi's builtin tools ($web_search) run on the server: answer with the arguments unchanged.
        return CallOutcome(message=_result(tool_call, tool_call.arguments))
    found = toolset.get(tool_call.name)
    if found is None:
        return _failure(tool_call, _unknown_tool_text(tool_call.name, toolset))
    # Inside a durable call (an agent used as a tool), each call of the sub-run gets a key of
    # its own under the caller's: two emails of one sub-run must not share a key and de-duplicate.
    outer = RunContext.current_idempotency_key()
    idempotency = None if outer is None else f"{outer}{NESTED_KEY_SEPARATOR}{key}"
    call_ctx = call_context(
        ctx,
        tool_call_id=tool_call.id,
        tool_call_key=key,
        tool_name=tool_call.name,
        retry=failures.get(tool_call.name, 0),
        idempotency_key=idempotency or ctx.idempotency_key,
    )
    if idempotency is None:
        return await _invoke(found, tool_call, call_ctx)
    with idempotency_scope(idempotency):
        return await _invoke(found, tool_call, call_ctx)


async def _invoke(found: Tool, tool_call: ToolCall, ctx: RunContext[Any]) -> CallOutcome:
    try:
        content = await found.invoke(tool_call.arguments, ctx)
    except (StopRun, SubRunPaused) as signal:
        return _signalled(tool_call, signal)
    except ToolArgumentsError as err:
        text = (
            f"Invalid arguments for tool {tool_call.name!r}: {err.message}\nFix the arguments and call again."
        )
        return _failure(tool_call, text)
    except ModelRetry as err:
        return _failure(tool_call, err.message)
    except SystemExit as err:  # argparse and sys.exit() in a tool end the call, not the process
        _log.warning("tool_exited", run_id=ctx.run_id, tool=tool_call.name, tool_call_key=ctx.tool_call_key)
        return _failure(
            tool_call, f"Tool {tool_call.name!r} failed: it tried to exit (SystemExit: {err.code})"
        )
    except Exception as err:
        _log.warning(
            "tool_failed",
            run_id=ctx.run_id,
            turn=ctx.turn,
            tool=tool_call.name,
            tool_call_key=ctx.tool_call_key,
            tool_call_id=tool_call.id,
            error=f"{type(err).__name__}: {err}",
            exc_info=err,
        )
        return _failure(tool_call, f"Tool {tool_call.name!r} failed: {type(err).__name__}: {err}")
    return CallOutcome(message=_result(tool_call, content))


def _signalled(tool_call: ToolCall, signal: StopRun | SubRunPaused) -> CallOutcome:
    """A tool that stopped the run, or whose sub-run paused (an error result where none can pause)."""
    if isinstance(signal, StopRun):
        return CallOutcome(message=_result(tool_call, "The run was stopped by this tool."), stop=signal)
    return replace(_failure(tool_call, signal.message), paused=signal.state)


def _unknown_tool_text(name: str, toolset: Toolset) -> str:
    available = ", ".join(sorted(t.name for t in toolset)) or "none"
    if name == UNREADABLE_CALL:
        return (
            "Your tool call could not be read: its markup was cut off or garbled before the "
            f"arguments. Call the tool again, complete. Available tools: {available}."
        )
    shown = repr(name) if name else "(an empty name)"
    return f"Unknown tool {shown}. Available tools: {available}."


def _result(tool_call: ToolCall, content: str | ToolOutput) -> ToolMessage:
    if isinstance(content, ToolOutput):
        return ToolMessage(
            tool_call_id=tool_call.id, name=tool_call.name, content=content.text, images=content.images
        )
    return ToolMessage(tool_call_id=tool_call.id, name=tool_call.name, content=content)


def _failure(tool_call: ToolCall, text: str) -> CallOutcome:
    message = ToolMessage(tool_call_id=tool_call.id, name=tool_call.name, content=text, is_error=True)
    return CallOutcome(message=message, failed=True)
