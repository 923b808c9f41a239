"""Plain-JSON forms of requests, responses and results, for trace files (both directions).

Every function here is pure: ``*_to_json`` builds dicts of str/int/float/bool/None/list/dict,
``*_from_json`` rebuilds the frozen types. ``encode_request`` delta-codes messages against the
previous request of the same run (a run's history only grows), so a long run's trace stays
linear in size instead of quadratic.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.messages import Message, message_from_dict, message_to_dict
from agentkit.model_types import ModelRequest, ModelResponse, ModelSettings, ToolDefinition
from agentkit.usage import Usage

__all__ = [
    "SAME_TOOLS",
    "MessageDelta",
    "error_to_json",
    "jsonable",
    "request_to_json",
    "response_from_json",
    "response_to_json",
    "settings_to_json",
    "tool_definition_from_json",
    "tool_definition_to_json",
    "usage_from_json",
    "usage_to_json",
]


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dataclasses and pydantic models become dicts)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return _jsonable_object(value)


def _jsonable_object(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return jsonable(dump(mode="json"))
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    return str(value)


def usage_to_json(usage: Usage) -> dict[str, int]:
    """Return ``usage`` as a dict of its counters (the optional ones only when not zero)."""
    out = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "requests": usage.requests,
        "tool_calls": usage.tool_calls,
        "web_searches": usage.web_searches,
    }
    if usage.estimated_requests:
        out["estimated_requests"] = usage.estimated_requests
    if usage.reasoning_tokens:
        out["reasoning_tokens"] = usage.reasoning_tokens
    return out


def usage_from_json(data: Mapping[str, Any] | None) -> Usage:
    """Rebuild a `Usage` (unknown keys are ignored, missing ones are 0)."""
    known = {f.name for f in dataclasses.fields(Usage)}
    return Usage(**{k: int(v) for k, v in (data or {}).items() if k in known})


def settings_to_json(settings: ModelSettings) -> dict[str, Any]:
    """Return the settings that are set (``None`` fields and an empty ``extra_body`` are left out)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if value is None or (f.name == "extra_body" and not value):
            continue
        out[f.name] = jsonable(value)
    return out


#: id -> (definition, JSON form): tool definitions are long-lived and encoded on every run.
_TOOL_CACHE: dict[int, tuple[ToolDefinition, dict[str, Any]]] = {}
_TOOL_CACHE_SIZE = 1024


def tool_definition_to_json(tool: ToolDefinition) -> dict[str, Any]:
    """Return a tool definition as a dict (``kind`` only when not a plain function)."""
    cached = _TOOL_CACHE.get(id(tool))
    if cached is not None and cached[0] is tool:
        return cached[1]
    out = _tool_json(tool)
    if len(_TOOL_CACHE) >= _TOOL_CACHE_SIZE:
        _TOOL_CACHE.clear()
    _TOOL_CACHE[id(tool)] = (tool, out)
    return out


def _tool_json(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": jsonable(tool.parameters),
    }
    if tool.kind != "function":
        out["kind"] = tool.kind
    return out


def tool_definition_from_json(data: Mapping[str, Any]) -> ToolDefinition:
    """Rebuild a `ToolDefinition`."""
    return ToolDefinition(
        name=data["name"],
        description=data.get("description", ""),
        parameters=data.get("parameters", {}),
        kind=data.get("kind", "function"),
    )


def error_to_json(error: BaseException) -> dict[str, Any]:
    """Return an exception as its type name and message (and ``retries`` when it was retried)."""
    out: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    retries = getattr(error, "retries", 0)
    if isinstance(retries, int) and retries:
        out["retries"] = retries
    return out


@dataclasses.dataclass(kw_only=True, slots=True)
class MessageDelta:
    """Delta-codes one run's successive message lists (kept per run by the encoder).

    ``encode`` returns ``(base, new)``: the first ``base`` messages are those of the
    previous list, unchanged (checked by identity, then equality), ``new`` the rest.
    """

    previous: tuple[Message, ...] = ()
    previous_tools: tuple[ToolDefinition, ...] | None = None
    #: The last request's settings and their JSON form (a run sends the same object each turn).
    previous_settings: tuple[ModelSettings, dict[str, Any]] | None = None

    def settings(self, settings: ModelSettings) -> dict[str, Any]:
        """Return `settings_to_json` of ``settings``, reusing the last form when unchanged."""
        previous = self.previous_settings
        if previous is not None and previous[0] is settings:
            return previous[1]
        encoded = settings_to_json(settings)
        self.previous_settings = (settings, encoded)
        return encoded

    def encode(self, messages: Sequence[Message]) -> tuple[int, list[dict[str, Any]]]:
        """Return the shared prefix length and the JSON forms of the messages after it."""
        previous = self.previous
        base = len(previous)
        if base > len(messages) or not _same_prefix(previous, messages):
            base = 0
        self.previous = tuple(messages)
        return base, [message_to_dict(m) for m in messages[base:]]


def _same_prefix(previous: Sequence[Message], messages: Sequence[Message]) -> bool:
    # Identity first, all in C: the loop passes the same message objects turn after turn.
    if all(map(operator.is_, previous, messages)):
        return True
    return all(map(operator.eq, previous, messages))


#: ``tools`` of a request whose tool definitions are those of the run's previous request.
SAME_TOOLS = "same"


def request_to_json(request: ModelRequest, delta: MessageDelta) -> dict[str, Any]:
    """Return the neutral request: ``base`` + ``messages`` (new ones), tools, tool_choice, settings.

    ``tools`` is `SAME_TOOLS` when the definitions are those of the previous request.
    """
    base, new = delta.encode(request.messages)
    tools = tuple(request.tools)
    previous_tools = delta.previous_tools
    same = previous_tools is not None and len(previous_tools) == len(tools)
    same = same and all(a is b or a == b for a, b in zip(previous_tools or (), tools, strict=False))
    delta.previous_tools = tools
    out: dict[str, Any] = {
        "base": base,
        "messages": new,
        "tools": SAME_TOOLS if same else [tool_definition_to_json(t) for t in tools],
        "tool_choice": request.tool_choice,
        "settings": delta.settings(request.settings),
    }
    if request.response_format is not None:
        out["response_format"] = jsonable(request.response_format)
    return out


def response_to_json(response: ModelResponse) -> dict[str, Any]:
    """Return the neutral response (message, finish reason, usage, cost, model, request id, retries)."""
    out = {
        "message": message_to_dict(response.message),
        "finish_reason": response.finish_reason,
        "usage": usage_to_json(response.usage),
        "model_name": response.model_name,
        "cost_usd": response.cost_usd,
        "request_id": response.request_id,
    }
    if response.retries:
        out["retries"] = response.retries  # absent when 0: most calls are not retried
    return out


def response_from_json(
    data: Mapping[str, Any], *, raw: Mapping[str, Any] | None, wire_request: Mapping[str, Any] | None
) -> ModelResponse:
    """Rebuild a `ModelResponse` from `response_to_json` output."""
    message = message_from_dict(data["message"])
    if message.role != "assistant":
        raise ValueError(f"a response message must be an assistant message, not {message.role!r}")
    return ModelResponse(
        message=message,
        finish_reason=data.get("finish_reason"),
        usage=usage_from_json(data.get("usage")),
        model_name=data.get("model_name", ""),
        cost_usd=float(data.get("cost_usd", 0.0)),
        request_id=data.get("request_id"),
        raw=raw,
        wire_request=wire_request,
        retries=int(data.get("retries", 0)),
    )
