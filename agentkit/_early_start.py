"""Tools start mid-stream: each call runs as soon as its arguments are complete.

While the model streams a message of several tool calls, a call is complete
as soon as its arguments close a JSON object (checked when a fragment ends with
``}``), and at the latest when the first delta of the next call arrives or the
message ends. `EarlyStarter` watches the deltas and launches every
complete call whose arguments parse as a JSON object, in the run's task group
(`early_start`); a turn waits for all of its launches before it ends
(`EarlyStarter.settle`). As the first stage of the turn's tool phase (see
`agentkit._turn_calls`) it marks for reuse each launch whose call is the one in
the final message at the same position (same id and name, arguments equal as
JSON); the others run as usual, and results are still appended in the model's
order.
Calls are numbered by the order they first appear in the stream (their position
in the final message), which gives each launch agentkit's key for the call.

Not started early: calls of tools that are ``sequential`` (and every call after
one, to keep the barrier), that ``requires_approval``, that are unknown, calls
that would pass the run's ``tool_calls`` limit, and a call whose id repeats an
earlier call's of the same message (the tool phase refuses such duplicates; the
earlier call may already be running, and then keeps its result).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import orjson

from agentkit._log import get_logger
from agentkit._tool_runner import Launch, Launcher
from agentkit.messages import ToolCall, tool_call_key
from agentkit.models.abstract import ToolCallDelta
from agentkit.tool import Toolset

if TYPE_CHECKING:
    from agentkit._loop_state import LoopConfig, LoopState
    from agentkit._turn_calls import TurnCalls

__all__ = ["EarlyStarter", "early_start"]

_log = get_logger("agentkit.loop")


@dataclass(kw_only=True, slots=True)
class _Partial:
    position: int
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class EarlyStarter:
    """Accumulates one message's tool-call deltas and launches each call once complete."""

    launcher: Launcher
    toolset: Toolset
    turn: int
    #: How many more calls the run's ``tool_calls`` limit allows (``None``: no limit).
    allowance: int | None = None
    #: The calls started, by position in the message.
    launched: dict[int, Launch] = field(default_factory=dict)
    #: The calls being streamed, by the stream's own index.
    _partials: dict[int, _Partial] = field(default_factory=dict)
    _current: int | None = None
    _blocked: bool = False

    def feed(self, delta: ToolCallDelta) -> None:
        """Take one streamed fragment; a new index completes the call before it."""
        index = delta.index
        if index != self._current:
            if self._current is not None:
                self._complete(self._current)
            self._current = index
        partial = self._partials.get(index)
        if partial is None:
            partial = self._partials[index] = _Partial(position=len(self._partials))
        if delta.id and not partial.id:
            partial.id = delta.id
        if delta.name and not partial.name:
            partial.name = delta.name
        arguments = delta.arguments
        partial.arguments.append(arguments)
        if arguments.endswith("}") or arguments.rstrip().endswith("}"):
            self._complete(index)  # a closed JSON object cannot grow: start now if it parses

    def finish(self) -> None:
        """The message ended: its last call is complete."""
        if self._current is not None:
            self._complete(self._current)
            self._current = None

    async def __call__(self, config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
        """The tool phase's stage: reuse the launches that ran the final message's calls."""
        calls.started = {
            i: found for i, c in calls.todo.items() if (found := self.reusable(i, c)) is not None
        }
        if len(calls.started) < len(self.launched):
            _log.warning(
                "early_calls_discarded",
                run_id=state.record.run_id,
                turn=state.record.turn,
                count=len(self.launched) - len(calls.started),
            )

    async def settle(self) -> None:
        """Wait for every call launched this turn, reused or not (a turn ends with its calls)."""
        for started in self.launched.values():
            if started.outcome is None:
                await started.wait()

    def reusable(self, position: int, call: ToolCall) -> Launch | None:
        """The launch of the call at ``position`` if it ran exactly ``call``, else ``None``."""
        found = self.launched.get(position)
        if found is None or found.call.id != call.id or found.call.name != call.name:
            return None
        if found.call.arguments == call.arguments or _loads(found.call.arguments) == _loads(call.arguments):
            return found
        return None

    def _complete(self, index: int) -> None:
        partial = self._partials.get(index)
        if partial is None or self._blocked or partial.position in self.launched:
            return
        for other in self._partials.values():
            if other.id == partial.id and other is not partial:
                return  # a repeated id: the tool phase refuses the call
        found = self.toolset.get(partial.name)
        if found is None or found.requires_approval:
            return
        if found.sequential:
            self._blocked = True  # a barrier: it and every call after it wait for the tool phase
            return
        if self.allowance is not None and len(self.launched) >= self.allowance:
            return
        arguments = "".join(partial.arguments)
        if not isinstance(_loads(arguments), dict):
            return
        call = ToolCall(id=partial.id, name=partial.name, arguments=arguments)
        self.launched[partial.position] = self.launcher.launch(
            tool_call_key(self.turn, partial.position), call
        )


_INVALID = object()


def _loads(text: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID


@contextlib.asynccontextmanager
async def early_start() -> AsyncIterator[anyio.abc.TaskGroup]:
    """One task group for a run's early calls; an error in the body cancels them and propagates as is.

    The group spans the run, not a turn: a turn whose calls have all ended by the end of the
    stream (the usual case) then waits for nothing, and a turn starts no group of its own.
    Each turn still waits for every call it launched (`EarlyStarter.settle`).
    """
    error: Exception | None = None
    async with anyio.create_task_group() as tg:
        try:
            yield tg
        except Exception as err:  # re-raised below, unwrapped by the task group
            error = err
            tg.cancel_scope.cancel()
    if error is not None:
        raise error
