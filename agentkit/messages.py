"""Provider-neutral messages and the events a run emits.

Messages are frozen, slotted dataclasses that round-trip through plain JSON
(`message_to_dict` / `message_from_dict`) without loss, so a
history can be stored, traced and replayed exactly. Providers translate these
to and from their wire format at the boundary and nowhere else.

>>> call = ToolCall(id="functions.add:0", name="add", arguments='{"a": 1, "b": 2}')
>>> msg = AssistantMessage(content=None, tool_calls=(call,))
>>> message_from_dict(message_to_dict(msg)) == msg
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from agentkit.images import ImagePart
from agentkit.usage import Usage

__all__ = [
    "ApprovalDecided",
    "ApprovalRequested",
    "AssistantMessage",
    "Event",
    "FinalResultEvent",
    "Message",
    "ModelCallFinished",
    "ModelCallStarted",
    "PlanUpdated",
    "ReasoningDelta",
    "RunFailed",
    "RunPaused",
    "RunStarted",
    "SystemMessage",
    "TextDelta",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolMessage",
    "TurnFinished",
    "UserMessage",
    "message_from_dict",
    "message_to_dict",
    "tool_call_key",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemMessage:
    """Instructions for the model."""

    content: str
    role: Literal["system"] = "system"


@dataclass(frozen=True, kw_only=True, slots=True)
class UserMessage:
    """What the user said; ``images`` are pictures sent with it (vision models only)."""

    content: str
    name: str | None = None
    images: tuple[ImagePart, ...] = ()
    role: Literal["user"] = "user"


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCall:
    """One call the model asked for.

    ``id`` is kept byte for byte as the provider sent it (Kimi's
    ``functions.NAME:IDX``); ``arguments`` is the raw string the model wrote,
    validated only when the call runs. ``type`` is ``"builtin_function"`` for
    server-side tools such as Kimi's ``$web_search``.
    """

    id: str
    name: str
    arguments: str
    type: str = "function"


@dataclass(frozen=True, kw_only=True, slots=True)
class AssistantMessage:
    """What the model said: text, tool calls, and reasoning for thinking models.

    ``partial`` marks an assistant prefill (Kimi partial mode). ``extra`` keeps
    any provider field this type does not name, so it is sent back unchanged.
    """

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning_content: str | None = None
    name: str | None = None
    partial: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolMessage:
    """The result of one tool call, matched to it by ``tool_call_id``.

    ``images`` are pictures the tool returned (a vision model sees them after the results).
    """

    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    images: tuple[ImagePart, ...] = ()
    role: Literal["tool"] = "tool"


Message: TypeAlias = SystemMessage | UserMessage | AssistantMessage | ToolMessage


def message_to_dict(message: Message) -> dict[str, Any]:
    """Return a JSON-ready dict for ``message`` (the inverse of `message_from_dict`)."""
    if isinstance(message, AssistantMessage):
        return _assistant_to_dict(message)
    if isinstance(message, ToolMessage):
        out: dict[str, Any] = {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "name": message.name,
            "content": message.content,
        }
        if message.is_error:
            out["is_error"] = True
        if message.images:
            out["images"] = [i.url for i in message.images]
        return out
    if isinstance(message, UserMessage):
        out = {"role": "user", "content": message.content}
        if message.name is not None:
            out["name"] = message.name
        if message.images:
            out["images"] = [i.url for i in message.images]
        return out
    return {"role": "system", "content": message.content}


def _assistant_to_dict(message: AssistantMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments, "type": c.type} for c in message.tool_calls
        ]
    if message.reasoning_content is not None:
        out["reasoning_content"] = message.reasoning_content
    if message.name is not None:
        out["name"] = message.name
    if message.partial:
        out["partial"] = True
    if message.extra:
        out["extra"] = dict(message.extra)
    return out


def message_from_dict(data: Mapping[str, Any]) -> Message:
    """Rebuild a message from `message_to_dict` output.

    Raises:
        ValueError: the role is unknown.
    """
    role = data.get("role")
    if role == "assistant":
        calls = tuple(
            ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"], type=c.get("type", "function"))
            for c in data.get("tool_calls") or ()
        )
        return AssistantMessage(
            content=data.get("content"),
            tool_calls=calls,
            reasoning_content=data.get("reasoning_content"),
            name=data.get("name"),
            partial=bool(data.get("partial", False)),
            extra=dict(data.get("extra") or {}),
        )
    if role == "tool":
        return ToolMessage(
            tool_call_id=data["tool_call_id"],
            name=data["name"],
            content=data["content"],
            is_error=bool(data.get("is_error", False)),
            images=_images(data),
        )
    if role == "user":
        return UserMessage(content=data["content"], name=data.get("name"), images=_images(data))
    if role == "system":
        return SystemMessage(content=data["content"])
    raise ValueError(f"unknown message role {role!r}")


def tool_call_key(turn: int, index: int) -> str:
    """The key agentkit gives the call at ``index`` of the answer of ``turn``: ``"turn.index"``.

    The model chooses `ToolCall.id` and may repeat it (two calls in one answer, or an id
    from an earlier turn), so agentkit never uses it to tell calls apart: pending calls,
    decisions, events, trace records and durable steps are keyed by this key, unique in a run.
    The id stays what is sent back on the wire.

    >>> tool_call_key(3, 0)
    '3.0'
    """
    return f"{turn}.{index}"


def _images(data: Mapping[str, Any]) -> tuple[ImagePart, ...]:
    return tuple(ImagePart(str(url)) for url in data.get("images") or ())


# --- events a run emits (streaming UIs and the tracer consume these) ---------


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
    tools: tuple[Any, ...] = ()  # the ToolDefinitions the model is offered
    parent_run_id: str | None = None
    parent_tool_call_id: str | None = None
    parent_tool_call_key: str | None = None
    resumed: bool = False
    kind: Literal["run_started"] = "run_started"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelCallStarted:
    """A request is about to be sent to the model (``request`` is a ``ModelRequest``)."""

    turn: int
    request: Any
    kind: Literal["model_call_started"] = "model_call_started"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelCallFinished:
    """The model answered (``response`` is a ``ModelResponse``) or failed (``error``)."""

    turn: int
    request: Any
    response: Any
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
    """The run ended; ``result`` is the [`agentkit.RunResult`][]."""

    result: Any
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
    ([`PendingCall.key`][agentkit.approval.PendingCall]).
    """

    turn: int
    call: ToolCall
    key: str
    arguments: Mapping[str, Any]
    kind: Literal["approval_requested"] = "approval_requested"


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalDecided:
    """A decision on a waiting call: ``"approve"``, ``"reject"`` (with ``message``) or ``"edit"``.

    ``arguments`` are the arguments the call runs with (the edited ones for ``"edit"``);
    ``key`` is agentkit's key for the call.
    """

    turn: int
    call: ToolCall
    key: str
    decision: Literal["approve", "reject", "edit"]
    arguments: Mapping[str, Any] | None = None
    message: str | None = None
    kind: Literal["approval_decided"] = "approval_decided"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunPaused:
    """The run stopped to wait for decisions; ``state`` is its [`RunState`][agentkit.run_state.RunState]."""

    run_id: str
    pending: tuple[Any, ...]  # the PendingCalls
    state: Any
    kind: Literal["run_paused"] = "run_paused"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanUpdated:
    """The model updated its plan (``plan`` is an [`agentkit.planning.Plan`][])."""

    turn: int
    plan: Any
    kind: Literal["plan_updated"] = "plan_updated"


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
