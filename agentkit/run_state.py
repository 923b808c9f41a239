"""A paused run, as a value that survives a process: `RunState` and its JSON form.

A run pauses when a tool call needs approval and no approver decides
(see [`agentkit.approval`][]). Its state holds everything needed to
continue later, in another process: the conversation (ending with the
assistant message whose calls wait), the results of that turn's calls that
already ran, the pending calls with their validated arguments, usage and
cost so far, the limits, the turn, retry counters and the trace it was
recorded to. Dependencies (``deps``) and hooks are not state: pass them to
``agent.resume`` again.

When the run paused because an agent it called as a tool (``agent.as_tool()``)
paused, the state also holds that sub-run's own state, under the position of the
calling tool call (``nested``), and ``pending`` lists the sub-run's waiting calls
too, each under a key that routes its decision: the calling call's key, ``/``, the
sub-run's key for the call (``"1.0/2.0"``; two levels deep, ``"1.0/1.0/2.0"``).

The JSON document is versioned: ``{"format": "agentkit-run-state", "version": 3, ...}``.
A document of another format or a newer version is refused with
[`RunStateError`][agentkit.exceptions.RunStateError]. Version 3 added ``nested``; version 2
added each pending call's ``key``. Older documents are still read (a version 1
document's keys are derived from each call's position in the paused message).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from agentkit.approval import PendingCall
from agentkit.exceptions import RunStateError
from agentkit.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolMessage,
    message_from_dict,
    message_to_dict,
    tool_call_key,
)
from agentkit.usage import Usage, UsageLimits

__all__ = [
    "NESTED_KEY_SEPARATOR",
    "STATE_FORMAT",
    "STATE_VERSION",
    "CallResult",
    "RunState",
    "nested_pending",
]

#: The ``format`` field of a serialised run state.
STATE_FORMAT: Final = "agentkit-run-state"
#: The run-state version this agentkit writes and reads.
STATE_VERSION: Final = 3
#: Joins the key of a call that runs an agent to its sub-run's key for a waiting call.
NESTED_KEY_SEPARATOR: Final = "/"


@dataclass(frozen=True, kw_only=True, slots=True)
class CallResult:
    """The result of one call of the paused turn that already ran (``failed`` counts toward retries)."""

    message: ToolMessage
    failed: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class RunState:
    """Everything a paused run needs to continue; build it from JSON with `from_json`.

    Attributes:
        run_id: the run's id (the resumed run keeps it, so logs and traces join up).
        agent_name: the name of the agent that paused.
        messages: the conversation; the last message is the assistant message whose calls wait.
        new_messages_start: where the run's own messages begin in ``messages``.
        committed: how many messages were already handed to ``after_turn`` hooks (sessions).
        turn: the model turn the run paused in.
        usage: usage so far.
        cost_usd: cost so far.
        usage_limits: the run's limits (they keep applying to the whole run).
        max_turns: the run's turn limit.
        pending: the calls waiting for a decision, with their keys and validated arguments:
            this run's own, then those of the paused sub-runs in ``nested`` (keys prefixed
            with the calling call's key and ``/``).
        results: results of the paused turn's calls that already ran, by the call's
            position in the assistant message's ``tool_calls``.
        nested: the paused runs of agents this run called as tools, by the calling call's
            position in the assistant message; each continues when this run resumes.
        tool_failures: failed calls so far per tool name (retry budgets).
        output_failures: invalid final outputs so far.
        trace: the trace file the run was being recorded to, if one was named.
    """

    run_id: str
    agent_name: str
    messages: tuple[Message, ...]
    new_messages_start: int
    committed: int
    turn: int
    usage: Usage
    cost_usd: float
    usage_limits: UsageLimits
    max_turns: int
    pending: tuple[PendingCall, ...]
    results: Mapping[int, CallResult] = field(default_factory=dict)
    nested: Mapping[int, RunState] = field(default_factory=dict)
    tool_failures: Mapping[str, int] = field(default_factory=dict)
    output_failures: int = 0
    trace: str | None = None

    @property
    def paused_message(self) -> AssistantMessage:
        """The assistant message whose tool calls the run paused on."""
        last = self.messages[-1] if self.messages else None
        if not isinstance(last, AssistantMessage):
            raise RunStateError("a run state must end with the assistant message whose calls wait")
        return last

    @property
    def own_pending(self) -> tuple[PendingCall, ...]:
        """The waiting calls of this run's own tools (those of sub-runs left out)."""
        return tuple(p for p in self.pending if NESTED_KEY_SEPARATOR not in p.key)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (the inverse of `from_dict`)."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "run_id": self.run_id,
            "agent_name": self.agent_name,
            "messages": [message_to_dict(m) for m in self.messages],
            "new_messages_start": self.new_messages_start,
            "committed": self.committed,
            "turn": self.turn,
            "usage": _fields_to_json(self.usage),
            "cost_usd": self.cost_usd,
            "usage_limits": _fields_to_json(self.usage_limits),
            "max_turns": self.max_turns,
            "pending": [_pending_to_json(p) for p in self.pending],
            "results": [
                {"index": i, "message": message_to_dict(r.message), "failed": r.failed}
                for i, r in sorted(self.results.items())
            ],
            "nested": [{"index": i, "state": s.to_dict()} for i, s in sorted(self.nested.items())],
            "tool_failures": dict(self.tool_failures),
            "output_failures": self.output_failures,
            "trace": self.trace,
        }

    def to_json(self) -> str:
        """Return the state as a JSON document."""
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        """Rebuild a state from `to_dict` output.

        Raises:
            RunStateError: not a run state, a newer version, or malformed.
        """
        _check_header(data)
        try:
            return _state_from_json(data)
        except (KeyError, TypeError, ValueError) as err:
            raise RunStateError(f"malformed run state: {type(err).__name__}: {err}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> RunState:
        """Rebuild a state from `to_json` output.

        Raises:
            RunStateError: not JSON, not a run state, a newer version, or malformed.
        """
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            raise RunStateError(f"a run state must be JSON: {err}") from None
        if not isinstance(data, dict):
            raise RunStateError("a run state must be a JSON object")
        return cls.from_dict(data)


@dataclass(kw_only=True, slots=True)
class RunRecord:
    """A run's state as the loop updates it: the saved state's fields but ``pending``, mutable.

    The loop keeps one record per run. Pausing freezes it (`freeze`) into the
    [`RunState`][agentkit.run_state.RunState] that is saved; resuming thaws a saved state (`thaw`) back
    into the record. Both copy the fields by name, so nothing is mapped by hand; a field
    added to one must be added to the other (a test checks they match).
    """

    run_id: str
    agent_name: str
    messages: list[Message]
    new_messages_start: int
    committed: int
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    usage_limits: UsageLimits
    max_turns: int
    results: dict[int, CallResult] = field(default_factory=dict)
    nested: dict[int, RunState] = field(default_factory=dict)
    tool_failures: dict[str, int] = field(default_factory=dict)
    output_failures: int = 0
    trace: str | None = None

    def freeze(self, pending: tuple[PendingCall, ...]) -> RunState:
        """The record as a saved state, with the calls that wait."""
        values = {f.name: _frozen(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return RunState(pending=pending, **values)

    @classmethod
    def thaw(cls, state: RunState) -> RunRecord:
        """The record of a saved state, ready for the loop to continue."""
        return cls(**{f.name: _thawed(getattr(state, f.name)) for f in dataclasses.fields(cls)})


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    return dict(value) if isinstance(value, dict) else value


def _thawed(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return dict(value) if isinstance(value, Mapping) else value


def _check_header(data: Mapping[str, Any]) -> None:
    if data.get("format") != STATE_FORMAT:
        raise RunStateError(f"not an agentkit run state (format {data.get('format')!r})")
    version = data.get("version")
    if not isinstance(version, int) or not 1 <= version <= STATE_VERSION:
        raise RunStateError(
            f"run state version {version!r} is not supported (this agentkit reads up to {STATE_VERSION})"
        )


def _state_from_json(data: Mapping[str, Any]) -> RunState:
    state = _read_state(data)
    if any(not p.key for p in state.pending):  # version 1 saved no keys
        return dataclasses.replace(state, pending=_keyed(state))
    _check_keys(state)
    return dataclasses.replace(state, pending=(*state.own_pending, *nested_pending(state.turn, state.nested)))


def nested_pending(turn: int, nested: Mapping[int, RunState]) -> tuple[PendingCall, ...]:
    """The waiting calls of paused sub-runs, keyed from this run (``"<call key>/<sub-run key>"``)."""
    return tuple(
        dataclasses.replace(
            pending,
            key=f"{tool_call_key(turn, index)}{NESTED_KEY_SEPARATOR}{pending.key}",
            agent=pending.agent or sub.agent_name,
        )
        for index, sub in sorted(nested.items())
        for pending in sub.pending
    )


def _read_state(data: Mapping[str, Any]) -> RunState:
    state = RunState(
        run_id=str(data["run_id"]),
        agent_name=str(data["agent_name"]),
        messages=tuple(message_from_dict(m) for m in data["messages"]),
        new_messages_start=int(data["new_messages_start"]),
        committed=int(data["committed"]),
        turn=int(data["turn"]),
        usage=Usage(**_known(Usage, data.get("usage"))),
        cost_usd=float(data["cost_usd"]),
        usage_limits=UsageLimits(**_known(UsageLimits, data.get("usage_limits"))),
        max_turns=int(data["max_turns"]),
        pending=tuple(_pending_from_json(p) for p in data["pending"]),
        results={
            int(r["index"]): CallResult(message=_tool_message(r["message"]), failed=bool(r.get("failed")))
            for r in data.get("results") or ()
        },
        nested={int(n["index"]): _nested_from_json(n["state"]) for n in data.get("nested") or ()},
        tool_failures={str(k): int(v) for k, v in (data.get("tool_failures") or {}).items()},
        output_failures=int(data.get("output_failures") or 0),
        trace=data.get("trace"),
    )
    _ = state.paused_message  # refuse a state that does not end with the waiting calls
    return state


def _nested_from_json(data: Any) -> RunState:
    if not isinstance(data, Mapping):
        raise TypeError("a nested run state must be an object")
    _check_header(data)
    return _state_from_json(data)


def _fields_to_json(value: Usage | UsageLimits) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def _known(cls: type[Usage] | type[UsageLimits], data: Mapping[str, Any] | None) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in (data or {}).items() if k in names}


def _pending_to_json(pending: PendingCall) -> dict[str, Any]:
    call = pending.call
    return {
        "key": pending.key,
        "call": {"id": call.id, "name": call.name, "arguments": call.arguments, "type": call.type},
        "arguments": pending.arguments,
        "agent": pending.agent,
    }


def _pending_from_json(data: Mapping[str, Any]) -> PendingCall:
    raw = data["call"]
    call = ToolCall(
        id=raw["id"], name=raw["name"], arguments=raw["arguments"], type=raw.get("type", "function")
    )
    agent = data.get("agent")
    return PendingCall(
        key=str(data.get("key") or ""),
        call=call,
        arguments=dict(data.get("arguments") or {}),
        agent=None if agent is None else str(agent),
    )


def _check_keys(state: RunState) -> None:
    """Each own pending call's key must name that very call in the paused message, once.

    A sub-run's state must sit at a call of the paused message that has no result and is
    not itself waiting (its pending calls are derived from it, never read from ``pending``).
    """
    calls = state.paused_message.tool_calls
    expected = {tool_call_key(state.turn, i): c for i, c in enumerate(calls) if i not in state.results}
    seen: set[str] = set()
    for index in state.nested:
        key = tool_call_key(state.turn, index)
        if key not in expected:
            raise ValueError(f"a nested run state sits at {key!r}, not a waiting call of the paused message")
        seen.add(key)
    for pending in state.own_pending:
        if expected.get(pending.key) != pending.call or pending.key in seen:
            raise ValueError(f"pending key {pending.key!r} does not name its call in the paused message")
        seen.add(pending.key)


def _keyed(state: RunState) -> tuple[PendingCall, ...]:
    """Keys for the pending calls of a version 1 state: each call's position in the paused message."""
    free = [i for i in range(len(state.paused_message.tool_calls)) if i not in state.results]
    out: list[PendingCall] = []
    for pending in state.pending:
        index = next((i for i in free if state.paused_message.tool_calls[i] == pending.call), None)
        if index is None:
            raise ValueError(f"pending call {pending.call.name!r} is not in the paused message")
        free.remove(index)
        out.append(dataclasses.replace(pending, key=tool_call_key(state.turn, index)))
    return tuple(out)


def _tool_message(data: Mapping[str, Any]) -> ToolMessage:
    message = message_from_dict(data)
    if not isinstance(message, ToolMessage):
        raise TypeError("a result must be a tool message")
    return message
