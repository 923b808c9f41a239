"""ReplayModel: plays a recorded trace back, with no network, and checks the agent asks the same.

>>> import anyio, tempfile, os
>>> from agentkit import Agent
>>> from agentkit.models.function import ScriptedModel
>>> path = os.path.join(tempfile.mkdtemp(), "hello.jsonl")
>>> _ = Agent(ScriptedModel(["Hello!"]), instructions="Be brief.").run_sync("hi", trace=path)
>>> replay = ReplayModel.from_trace(path)
>>> Agent(replay, instructions="Be brief.").run_sync("hi").output
'Hello!'
>>> replay.finish()  # every recorded call was used

In strict mode (the default) each request is compared with the recorded one (messages,
tools, tool_choice, settings); the first difference raises
[`ReplayMismatch`][agentkit.exceptions.ReplayMismatch] naming the turn and the field, with a diff.
Lenient mode checks only that the same tool calls got results, in the same order.

Tools run live by default: their results are part of the next request, so a changed
result shows as a mismatch there. `ReplayModel.recorded_tools` wraps an agent's
tools so they return the recorded results instead (same names and schemas).
"""

from __future__ import annotations

import difflib
import operator
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from agentkit._run_context import RunContext
from agentkit.events import ReasoningDelta, TextDelta
from agentkit.exceptions import ModelError, ModelRetry, ReplayMismatch
from agentkit.images import ImagePart
from agentkit.messages import Message, message_to_dict
from agentkit.models.abstract import ModelRequest, ModelResponse, ModelStreamEvent, ToolCallDelta
from agentkit.tool import Tool, ToolOutput, Toolset
from agentkit.tracing._codec import (
    SAME_TOOLS,
    response_from_json,
    settings_to_json,
    tool_definition_to_json,
)
from agentkit.tracing.reader import Trace, read_trace

__all__ = ["ReplayModel"]

_MAX_DIFF_LINES = 40


@dataclass(kw_only=True, slots=True)
class _Live:
    """The agent's previous request, encoded (the next one usually only appends)."""

    messages: tuple[Message, ...] = ()
    encoded: list[dict[str, Any]] = field(default_factory=list)
    checked: int = 0

    def encode(self, messages: Sequence[Message]) -> tuple[list[dict[str, Any]], int]:
        """Return the JSON forms of ``messages`` and how many leading ones were already compared."""
        base = len(self.messages)
        same = base <= len(messages) and all(map(operator.is_, self.messages, messages))
        if not same:
            base, self.encoded, self.checked = 0, [], 0
        encoded = [*self.encoded, *(message_to_dict(m) for m in messages[base:])]
        self.messages, self.encoded = tuple(messages), encoded
        return encoded, self.checked


class ReplayModel:
    """A model answering from a recorded trace, in order (see the module docs).

    Args:
        trace: the recorded run (see [`agentkit.tracing.read_trace`][]).
        strict: compare whole requests (``True``) or only the sequence of tool calls.
    """

    def __init__(self, trace: Trace, *, strict: bool = True) -> None:
        self.trace = trace
        self.strict = strict
        self._calls = trace.model_calls
        self._next = 0
        self._recorded: list[dict[str, Any]] = []
        self._recorded_tools: Any = []
        self._live = _Live()
        self._live_tools: tuple[Any, ...] | None = None

    @classmethod
    def from_trace(cls, path: str | os.PathLike[str], *, strict: bool = True) -> ReplayModel:
        """Load the trace at ``path`` (see [`agentkit.tracing.read_trace`][]) and replay it."""
        return cls(read_trace(path), strict=strict)

    @property
    def model_name(self) -> str:
        """The recorded model's name."""
        return str(self.trace.header.get("model", "replay"))

    @property
    def remaining(self) -> int:
        """Recorded model calls not played yet."""
        return len(self._calls) - self._next

    def finish(self) -> None:
        """Check the replay is complete: in strict mode, unused recorded calls are an error.

        Raises:
            ReplayMismatch: recorded model calls were left unused (strict mode).
        """
        if self.strict and self.remaining:
            raise ReplayMismatch(
                f"the run ended after {self._next} model calls but the recording has "
                f"{len(self._calls)}: {self.remaining} recorded calls left unused",
                field="model_calls",
            )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Check ``request`` against the recording and return the recorded response."""
        turn = self._next + 1
        if self._next >= len(self._calls):
            raise ReplayMismatch(
                f"turn {turn}: the agent made a model call the recording does not have "
                f"(it holds {len(self._calls)})",
                turn=turn,
                field="model_calls",
            )
        record = self._calls[self._next]
        self._next += 1
        self._check(turn, request, record["request"])
        response = record.get("response")
        if response is None:
            failed = record.get("error") or {}
            raise ModelError(f"recorded failure: {failed.get('type')}: {failed.get('message')}")
        return response_from_json(response, raw=record.get("raw"), wire_request=None)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Yield the recorded answer as deltas (reasoning, text, tool calls), then the response."""
        response = await self.complete(request)
        message = response.message
        if message.reasoning_content:
            yield ReasoningDelta(text=message.reasoning_content)
        if message.content:
            yield TextDelta(text=message.content)
        for index, call in enumerate(message.tool_calls):
            yield ToolCallDelta(index=index, id=call.id, name=call.name, arguments=call.arguments)
        yield response

    # --- comparing ----------------------------------------------------------------------------

    def _check(self, turn: int, request: ModelRequest, recorded: Mapping[str, Any]) -> None:
        self._recorded = [*self._recorded[: recorded["base"]], *recorded["messages"]]
        live, checked = self._live.encode(request.messages)
        checked = min(checked, recorded["base"])
        if self.strict:
            _compare(turn, "messages", self._recorded[checked:], live[checked:], offset=checked)
            self._check_tools(turn, request, recorded)
            _compare(turn, "tool_choice", recorded.get("tool_choice"), request.tool_choice)
            _compare(turn, "settings", recorded.get("settings", {}), settings_to_json(request.settings))
        else:
            _compare(turn, "tool call sequence", _tool_results(self._recorded), _tool_results(live))
        self._live.checked = len(live)

    def _check_tools(self, turn: int, request: ModelRequest, recorded: Mapping[str, Any]) -> None:
        tools = tuple(request.tools)
        if recorded.get("tools") != SAME_TOOLS:
            self._recorded_tools = recorded.get("tools", [])
        elif _same_objects(tools, self._live_tools):
            return  # both sides unchanged since the last (checked) request
        self._live_tools = tools
        _compare(turn, "tools", self._recorded_tools, [tool_definition_to_json(t) for t in tools])

    # --- recorded tool results ----------------------------------------------------------------

    def recorded_tools(self, tools: Iterable[Tool | Any]) -> list[Tool]:
        """Return ``tools`` answering with the recorded results instead of running.

        Names, descriptions and schemas stay those of the given tools (so strict
        comparison of the tool definitions still applies); each call returns the
        result recorded for the same call key (turn and position in the answer; a
        trace without keys is matched by turn and tool-call id). A recorded error is
        returned as an error.
        """
        results: dict[str, Mapping[str, Any]] = {}
        for record in self.trace.of_type("tool_call"):
            key = record.get("key") or _legacy_key(record["turn"], record["call"]["id"])
            results.setdefault(str(key), record["result"])
        return [_RecordedTool.wrap(t, results) for t in Toolset(tools)]


@dataclass(frozen=True, kw_only=True, slots=True)
class _RecordedTool(Tool):
    """A tool whose calls return the recorded results (definition unchanged)."""

    recorded: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def wrap(cls, tool: Tool, recorded: Mapping[str, Mapping[str, Any]]) -> _RecordedTool:
        # Every field of the real tool is kept (its schema plan included); only ``invoke`` differs.
        kept = {f.name: getattr(tool, f.name) for f in fields(Tool)}
        return cls(**kept, recorded=recorded)

    async def invoke(self, arguments: str, ctx: RunContext[Any] | None = None) -> str | ToolOutput:
        """Return the result recorded for this call (``ModelRetry`` for a recorded error)."""
        key = ctx.tool_call_key if ctx is not None else None
        found = self.recorded.get(key) if key is not None else None
        if found is None and ctx is not None:
            found = self.recorded.get(_legacy_key(ctx.turn, ctx.tool_call_id or ""))
        if found is None:
            raise ModelRetry(f"replay: no recorded result for call {key!r} of tool {self.name!r}")
        if found.get("is_error"):
            raise ModelRetry(str(found["content"]))
        if found.get("images"):
            images = tuple(ImagePart(str(url)) for url in found["images"])
            return ToolOutput(text=str(found["content"]), images=images)
        return str(found["content"])


def _legacy_key(turn: int, call_id: str) -> str:
    """How a trace written before call keys names a call: turn and the model's id."""
    return f"legacy:{turn}:{call_id}"


def _same_objects(a: Sequence[Any], b: Sequence[Any] | None) -> bool:
    return b is not None and len(a) == len(b) and all(map(operator.is_, a, b))


def _tool_results(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{m.get('name')} ({m.get('tool_call_id')})" for m in messages if m.get("role") == "tool"]


def _compare(turn: int, name: str, recorded: Any, actual: Any, *, offset: int = 0) -> None:
    if recorded == actual:
        return
    path, old, new = _first_difference(name, recorded, actual, offset)
    raise ReplayMismatch(
        f"turn {turn}: the request differs from the recording in {path}",
        turn=turn,
        field=path,
        diff=_diff(old, new),
    )


def _first_difference(path: str, old: Any, new: Any, offset: int = 0) -> tuple[str, Any, Any]:
    """Descend into dicts and lists to the innermost part that differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                return _first_difference(f"{path}.{key}", old.get(key, _MISSING), new.get(key, _MISSING))
    if isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b:
                return _first_difference(f"{path}[{index + offset}]", a, b)
        shorter = min(len(old), len(new))
        return f"{path}[{shorter + offset}:]", old[shorter:], new[shorter:]
    return path, old, new


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING: Any = _Missing()


def _diff(old: Any, new: Any) -> str:
    lines = difflib.unified_diff(
        _pretty(old).splitlines(), _pretty(new).splitlines(), "recorded", "actual", lineterm="", n=2
    )
    out = list(lines)
    if len(out) > _MAX_DIFF_LINES:
        out = [*out[:_MAX_DIFF_LINES], f"... ({len(out) - _MAX_DIFF_LINES} more diff lines)"]
    return "\n".join(out)


def _pretty(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode()
