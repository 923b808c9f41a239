"""The events a run emits, typed: streaming UIs, hooks and the tracer consume these.

Every event is a frozen dataclass with a ``kind`` tag; `Event` is their union, so a
``match`` over it is checked by mypy (each field has its real type: a
`ModelRequest`, a [`RunResult`][agentkit.result.RunResult], a
[`RunState`][agentkit.run_state.RunState], ...).
`ModelStreamEvent` is the smaller set a model's stream
yields ([`TextDelta`][agentkit.events.TextDelta], [`ReasoningDelta`][agentkit.events.ReasoningDelta],
tool-call deltas, the response).

A bottom-layer module that imports nothing of agentkit when it runs: the types its annotations
name (messages, the model contract, the run's result, state, plan and pending calls) are imported
for type checkers only, so every layer can import the events without an import cycle.
[`agentkit.messages`][] re-exports every name here (their earlier home).

>>> def describe(event: Event) -> str:
...     match event:
...         case TextDelta(text=text):
...             return f"text {text!r}"
...         case ToolCallFinished(call=call, result=result) if result.is_error:
...             return f"{call.name} failed: {result.content}"
...         case FinalResultEvent(result=result):
...             return f"output {result.output!r}"
...         case _:
...             return event.kind
>>> describe(TextDelta(text="Hello"))
"text 'Hello'"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from agentkit.approval import PendingCall
    from agentkit.messages import Message, ToolCall, ToolMessage
    from agentkit.model_types import ModelRequest, ModelResponse, ToolDefinition
    from agentkit.planning import Plan
    from agentkit.result import RunResult
    from agentkit.run_state import RunState
    from agentkit.usage import Usage

__all__ = [
    "ApprovalDecided",
    "ApprovalRequested",
    "Event",
    "FinalResultEvent",
    "ModelCallFinished",
    "ModelCallStarted",
    "PlanUpdated",
    "ReasoningDelta",
    "RunFailed",
    "RunPaused",
    "RunStarted",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnFinished",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class TextDelta:
    """A fragment of the model's answer text."""

    text: str
    kind: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True, kw_only=True, slots=True)
class ReasoningDelta:
    """A fragment of a thinking model's ``reasoning_content``."""

    text: str
    kind: Literal["reasoning_delta"] = "reasoning_delta"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunStarted:
    """A run began (``messages`` is the conversation it starts from, prompt included).

    ``parent_run_id`` / ``parent_tool_call_key`` name the run and tool call that
    started this one (an agent used as a tool; ``parent_tool_call_id`` is that call's
    model id); ``resumed`` marks a paused run continuing (same ``run_id``).
    """

    run_id: str
    agent_name: str
    model_name: str
    messages: tuple[Message, ...]
    tools: tuple[ToolDefinition, ...] = ()
    parent_run_id: str | None = None
    parent_tool_call_id: str | None = None
    parent_tool_call_key: str | None = None
    resumed: bool = False
    kind: Literal["run_started"] = "run_started"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelCallStarted:
    """A request is about to be sent to the model."""

    turn: int
    request: ModelRequest
    kind: Literal["model_call_started"] = "model_call_started"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelCallFinished:
    """The model answered (``response``) or failed (``error``, and ``response`` is ``None``)."""

    turn: int
    request: ModelRequest
    response: ModelResponse | None
    duration_s: float
    error: BaseException | None = None
    kind: Literal["model_call_finished"] = "model_call_finished"


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallStarted:
    """A tool call began running (parallel calls start together); ``key`` is agentkit's key for it."""

    turn: int
    call: ToolCall
    key: str
    kind: Literal["tool_call_started"] = "tool_call_started"


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallFinished:
    """A tool call finished; ``result.is_error`` says whether it failed.

    ``retry`` counts this tool's earlier failed calls in the run (the model repairing a
    call after a tool error; ``RunContext.retry`` inside the tool). ``key`` is agentkit's key
    for the call (see `tool_call_key`), the same as on its `ToolCallStarted`.
    """

    turn: int
    call: ToolCall
    key: str
    result: ToolMessage
    duration_s: float
    retry: int = 0
    kind: Literal["tool_call_finished"] = "tool_call_finished"


@dataclass(frozen=True, kw_only=True, slots=True)
class TurnFinished:
    """A model turn (and the tool calls it asked for) is complete."""

    turn: int
    usage: Usage
    kind: Literal["turn_finished"] = "turn_finished"


@dataclass(frozen=True, kw_only=True, slots=True)
class FinalResultEvent:
    """The run ended with ``result``."""

    result: RunResult[Any]
    kind: Literal["final_result"] = "final_result"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunFailed:
    """The run ended with ``error`` (a [`RunError`][agentkit.exceptions.RunError] keeps the messages)."""

    run_id: str
    error: BaseException
    kind: Literal["run_failed"] = "run_failed"


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalRequested:
    """A call of a tool that ``requires_approval`` waits for a decision (``arguments`` validated).

    ``key`` is agentkit's key for the call, the one decisions are given under
    ([`PendingCall.key`][agentkit.approval.PendingCall]). A call inside an agent used as a
    tool reaches the calling run too, as ``"<call key>/<sub-run key>"`` with ``agent`` naming
    the agent whose call it is (``turn`` is then the calling run's).
    """

    turn: int
    call: ToolCall
    key: str
    arguments: Mapping[str, Any]
    agent: str | None = None
    kind: Literal["approval_requested"] = "approval_requested"


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalDecided:
    """A decision on a waiting call: ``"approve"``, ``"reject"`` (with ``message``) or ``"edit"``.

    ``arguments`` are the arguments the call runs with (the edited ones for ``"edit"``);
    ``key`` is agentkit's key for the call, and ``agent`` names the agent used as a tool
    whose call it is (as for [`ApprovalRequested`][agentkit.events.ApprovalRequested]).
    """

    turn: int
    call: ToolCall
    key: str
    decision: Literal["approve", "reject", "edit"]
    arguments: Mapping[str, Any] | None = None
    message: str | None = None
    agent: str | None = None
    kind: Literal["approval_decided"] = "approval_decided"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunPaused:
    """The run stopped to wait for decisions on ``pending``; ``state`` is what resumes it."""

    run_id: str
    pending: tuple[PendingCall, ...]
    state: RunState
    kind: Literal["run_paused"] = "run_paused"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanUpdated:
    """The model updated its plan."""

    turn: int
    plan: Plan
    kind: Literal["plan_updated"] = "plan_updated"


#: Every event a run emits (match on it; each member has a distinct ``kind``).
Event: TypeAlias = (
    RunStarted
    | ModelCallStarted
    | TextDelta
    | ReasoningDelta
    | ModelCallFinished
    | ToolCallStarted
    | ToolCallFinished
    | TurnFinished
    | FinalResultEvent
    | RunFailed
    | ApprovalRequested
    | ApprovalDecided
    | RunPaused
    | PlanUpdated
)
