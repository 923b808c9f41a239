"""Provider-neutral messages.

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

# The events a run emits lived here before agentkit.events; the names stay importable from here.
from agentkit.events import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    FinalResultEvent,
    ModelCallFinished,
    ModelCallStarted,
    PlanUpdated,
    ReasoningDelta,
    RunFailed,
    RunPaused,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.images import ImagePart

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
