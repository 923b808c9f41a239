"""Events in, trace records out: the one place that decides what a trace file holds.

`RecordEncoder` turns one run's events into the JSON records of the trace format
(``docs/trace-format.md``). Timestamps are taken when each event arrives, which is when it
happened: the loop emits every event at that moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from agentkit._version import __version__
from agentkit.events import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    FinalResultEvent,
    ModelCallFinished,
    ModelCallStarted,
    PlanUpdated,
    RunFailed,
    RunPaused,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.messages import ToolCall, ToolMessage
from agentkit.tracing._codec import (
    SAME_TOOLS,
    MessageDelta,
    error_to_json,
    jsonable,
    request_to_json,
    response_to_json,
    tool_definition_to_json,
    usage_to_json,
)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "RecordEncoder"]

#: The ``format`` field of every trace header.
FORMAT_NAME: Final = "agentkit-trace"
#: The trace format version this agentkit writes and reads.
FORMAT_VERSION: Final = 1

Clock = Callable[[], int]


@dataclass(kw_only=True, slots=True)
class _WireDelta:
    """Delta-codes the ``messages`` list of successive wire bodies (equal dicts are shared)."""

    previous: list[Any] = field(default_factory=list)
    previous_tools: Any = None

    def encode(self, body: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if body is None:
            return None
        out = dict(body)
        tools = out.get("tools")
        if tools is not None and tools == self.previous_tools:
            out["tools"] = SAME_TOOLS  # as in the neutral request: unchanged since the last call
        else:
            self.previous_tools = tools
        messages = out.get("messages")
        if not isinstance(messages, list):
            return out
        base = len(self.previous)
        if base > len(messages) or messages[:base] != self.previous:
            base = 0
        self.previous = messages
        out["messages"] = messages[base:]
        out["messages_base"] = base
        return out


@dataclass(kw_only=True, slots=True)
class RecordEncoder:
    """Encodes one run's events as trace records (a new encoder per run)."""

    clock: Clock = time.time_ns
    origin: str | None = None
    header: dict[str, Any] | None = None
    _messages: MessageDelta = field(default_factory=MessageDelta)
    _wire: _WireDelta = field(default_factory=_WireDelta)
    _model_starts: dict[int, int] = field(default_factory=dict)
    _tool_starts: dict[str, int] = field(default_factory=dict)  # by agentkit's call key

    def encode(self, event: Event) -> dict[str, Any] | None:
        """Return the record for ``event`` (``None`` for events a trace does not keep)."""
        handler = _HANDLERS.get(type(event))
        return None if handler is None else handler(self, event, self.clock())

    def _model_started(self, event: ModelCallStarted, now: int) -> None:
        self._model_starts[event.turn] = now

    def _tool_started(self, event: ToolCallStarted, now: int) -> None:
        self._tool_starts[event.key] = now

    def _turn(self, event: TurnFinished, now: int) -> dict[str, Any]:
        return {"type": "turn", "turn": event.turn, "end_ns": now, "usage": usage_to_json(event.usage)}

    def _failed(self, event: RunFailed, now: int) -> dict[str, Any]:
        return {"type": "failed", "end_ns": now, "error": error_to_json(event.error)}

    def _run_started(self, event: RunStarted, now: int) -> dict[str, Any]:
        self.header = self._header(event, now)
        return self.header

    def _header(self, event: RunStarted, now: int) -> dict[str, Any]:
        return {
            "type": "header",
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "agentkit_version": __version__,
            "origin": self.origin,
            "run_id": event.run_id,
            "agent": event.agent_name,
            "model": event.model_name,
            "tools": [tool_definition_to_json(t) for t in event.tools],
            "start_ns": now,
        }

    def _model_call(self, event: ModelCallFinished, now: int) -> dict[str, Any]:
        response = event.response
        record: dict[str, Any] = {
            "type": "model_call",
            "turn": event.turn,
            "start_ns": self._model_starts.pop(event.turn, now),
            "end_ns": now,
            "duration_s": event.duration_s,
            "request": request_to_json(event.request, self._messages),
        }
        if response is not None:
            record["response"] = response_to_json(response)
            # Both bodies are decoded JSON already: no copy, orjson writes them as they are.
            record["raw"] = response.raw
            record["wire_request"] = self._wire.encode(response.wire_request)
        if event.error is not None:
            record["error"] = error_to_json(event.error)
        return record

    def _tool_call(self, event: ToolCallFinished, now: int) -> dict[str, Any]:
        call = event.call
        result = event.result
        record = {
            "type": "tool_call",
            "turn": event.turn,
            "start_ns": self._tool_starts.pop(event.key, now),
            "end_ns": now,
            "duration_s": event.duration_s,
            "key": event.key,
            "call": _call_json(call),
            "result": _tool_result(result),
        }
        if event.retry:
            record["retry"] = event.retry
        return record

    def _approval_requested(self, event: ApprovalRequested, now: int) -> dict[str, Any]:
        return {
            "type": "approval_requested",
            "turn": event.turn,
            "time_ns": now,
            "key": event.key,
            "call": _call_json(event.call),
            "arguments": jsonable(dict(event.arguments)),
        } | ({"agent": event.agent} if event.agent is not None else {})

    def _approval_decided(self, event: ApprovalDecided, now: int) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "approval_decided",
            "turn": event.turn,
            "time_ns": now,
            "key": event.key,
            "call": _call_json(event.call),
            "decision": event.decision,
        }
        if event.arguments is not None:
            record["arguments"] = jsonable(dict(event.arguments))
        if event.message is not None:
            record["message"] = event.message
        if event.agent is not None:
            record["agent"] = event.agent
        return record

    def _paused(self, event: RunPaused, now: int) -> dict[str, Any]:
        pending = [
            {"key": p.key, "call": _call_json(p.call), "arguments": jsonable(dict(p.arguments))}
            | ({"agent": p.agent} if p.agent is not None else {})
            for p in event.pending
        ]
        return {"type": "paused", "time_ns": now, "pending": pending}

    def _plan(self, event: PlanUpdated, now: int) -> dict[str, Any]:
        plan = event.plan
        return {
            "type": "plan",
            "turn": event.turn,
            "time_ns": now,
            "steps": [{"step": s.step, "status": s.status} for s in plan.steps],
            "explanation": plan.explanation,
        }

    def _final(self, event: FinalResultEvent, now: int) -> dict[str, Any]:
        result = event.result
        return {
            "type": "final",
            "end_ns": now,
            "output": jsonable(result.output),
            "usage": usage_to_json(result.usage),
            "cost_usd": result.cost_usd,
            "turns": result.turns,
        }


def _call_json(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments, "type": call.type}


_HANDLERS: dict[type[Any], Callable[[RecordEncoder, Any, int], dict[str, Any] | None]] = {
    RunStarted: RecordEncoder._run_started,
    ModelCallStarted: RecordEncoder._model_started,
    ModelCallFinished: RecordEncoder._model_call,
    ToolCallStarted: RecordEncoder._tool_started,
    ToolCallFinished: RecordEncoder._tool_call,
    TurnFinished: RecordEncoder._turn,
    FinalResultEvent: RecordEncoder._final,
    RunFailed: RecordEncoder._failed,
    ApprovalRequested: RecordEncoder._approval_requested,
    ApprovalDecided: RecordEncoder._approval_decided,
    RunPaused: RecordEncoder._paused,
    PlanUpdated: RecordEncoder._plan,
}


def _tool_result(result: ToolMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"content": result.content, "is_error": result.is_error}
    if result.images:
        out["images"] = [image.url for image in result.images]
    return out
