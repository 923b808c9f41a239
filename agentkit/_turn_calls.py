"""One turn's tool calls as they move through the tool phase's stages (plan -> gate -> execute -> apply).

A `TurnCalls` starts with every call of the model's answer in ``todo``. Each stage
takes calls out of ``todo`` that it settles (a result carried over from a resume, a refusal,
a rejection, a call set aside for the apply step, a call left waiting for a decision) or
changes them (edited arguments); what is left in ``todo`` is executed, and the apply stage
puts the results into the conversation in the model's order or pauses the run.
Calls are known by their position in the answer (agentkit's key), never by the model's id.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from agentkit._nested import SubRunResume
from agentkit._tool_runner import CallOutcome, Launch
from agentkit.approval import PendingCall
from agentkit.exceptions import StopRun
from agentkit.messages import ToolCall
from agentkit.run_state import CallResult, RunState

if TYPE_CHECKING:
    from agentkit._loop_state import LoopConfig, LoopState

__all__ = ["Stage", "TurnCalls"]


@dataclass(kw_only=True, slots=True)
class TurnCalls:
    """One turn's calls, each by its position in the answer, and what the stages made of them.

    Attributes:
        calls: the answer's calls, in the model's order.
        todo: the calls still to execute (a gate may replace a call's arguments).
        results: calls settled without executing now (carried over, refused, rejected).
        pending: calls waiting for a decision (the run pauses).
        set_aside: calls the apply stage answers (the structured-output tool).
        started: calls started mid-stream whose launch is reused.
        resumes: calls continuing a paused sub-run (an agent used as a tool).
        notes: text put before a call's result (e.g. arguments the user edited).
        counted: how many calls count toward the run's ``tool_calls`` limit.
        outcomes: how the executed calls ended.
    """

    calls: tuple[ToolCall, ...]
    todo: dict[int, ToolCall]
    results: dict[int, CallResult] = field(default_factory=dict)
    pending: list[PendingCall] = field(default_factory=list)
    set_aside: set[int] = field(default_factory=set)
    started: dict[int, Launch] = field(default_factory=dict)
    resumes: dict[int, SubRunResume] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)
    counted: int = 0
    outcomes: dict[int, CallOutcome] = field(default_factory=dict)

    @classmethod
    def of(cls, calls: tuple[ToolCall, ...]) -> TurnCalls:
        """Every call of the answer, still to do."""
        return cls(calls=calls, todo=dict(enumerate(calls)))

    def settle(self, index: int, result: CallResult) -> None:
        """Answer the call at ``index`` without executing it now."""
        self.todo.pop(index, None)
        self.results[index] = result

    @property
    def stops(self) -> dict[int, StopRun]:
        """The executed calls that stopped the run."""
        return {i: o.stop for i, o in self.outcomes.items() if o.stop is not None}

    @property
    def nested(self) -> dict[int, RunState]:
        """The executed calls whose sub-run paused."""
        return {i: o.paused for i, o in self.outcomes.items() if o.paused is not None}

    def finished(self, *, with_paused: bool) -> dict[int, CallResult]:
        """Every result so far, notes added; a paused sub-run's call only ``with_paused``."""
        results = dict(self.results)
        for index, outcome in self.outcomes.items():
            if outcome.paused is None or with_paused:
                failed = outcome.failed and outcome.paused is None  # a pause is not the tool failing
                results[index] = CallResult(message=outcome.message, failed=failed)
        for index, note in self.notes.items():
            found = results.get(index)
            if found is not None:
                message = replace(found.message, content=note + found.message.content)
                results[index] = replace(found, message=message)
        return results


class Stage(Protocol):
    """One step of the tool phase before apply: it reads and updates ``calls``."""

    def __call__(self, config: LoopConfig, state: LoopState, calls: TurnCalls) -> Awaitable[None]:
        """Settle, change or run some of ``calls``."""
        ...
