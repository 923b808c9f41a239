"""Pure mapping between agentkit's provider-neutral types and the Chat Completions wire format.

Nothing here does I/O: `build_request_body` turns a `ModelRequest` into a plain dict,
`parse_response` turns a decoded body into a `ModelResponse`, and
`StreamAccumulator` folds SSE chunks into deltas and, at the end, the same response a
non-streamed call would give. Everything a server does differently comes from the
`ModelProfile`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import orjson

from agentkit.exceptions import ModelResponseError, UserError
from agentkit.images import ImagePart
from agentkit.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from agentkit.models._tool_markup import decode_double_encoded, recover_tool_calls
from agentkit.models.abstract import (
    ModelProfile,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ToolDefinition,
)
from agentkit.tokens import answer_tokens, text_tokens
from agentkit.usage import Usage, cost_usd

__all__ = [
    "PERMISSIVE_TYPES",
    "WireRequest",
    "build_request_body",
    "decode_body",
    "estimate_usage",
    "excerpt",
    "message_to_wire",
    "messages_to_wire",
    "parse_response",
    "parse_usage",
    "sanitize_schema",
    "settings_to_wire",
    "thinking_on",
    "tool_choice_to_wire",
    "tool_to_wire",
]

#: The ``type`` given to a property whose type cannot be inferred (Kimi rejects a missing ``type``).
PERMISSIVE_TYPES: Final[tuple[str, ...]] = (
    "string",
    "number",
    "integer",
    "boolean",
    "object",
    "array",
    "null",
)

#: Assistant-message fields this module maps by name; anything else is kept in ``extra``.
_KNOWN_MESSAGE_FIELDS: Final = frozenset(
    {"role", "content", "tool_calls", "reasoning_content", "name", "partial", "function_call", "refusal"}
)
_EXCERPT_CHARS: Final = 200


@dataclass(frozen=True, kw_only=True, slots=True)
class WireRequest:
    """A request body ready to encode, plus what the mapping had to do to build it.

    ``tool_choice_emulated`` is true when ``tool_choice="required"`` was emulated with a user
    nudge (the profile says the server cannot do it): the caller logs or traces it.
    """

    body: dict[str, Any]
    tool_choice_emulated: bool = False


# --- messages -----------------------------------------------------------------------------------


def message_to_wire(message: Message, profile: ModelProfile) -> dict[str, Any]:
    """Return the Chat Completions dict for one provider-neutral message.

    A user message with images has a content list (a text part, then one ``image_url`` part
    per image); a tool message's images are not part of it (see `messages_to_wire`).

    Raises:
        UserError: a message carries images and the model has no vision, or an inline image
            is larger than ``profile.max_image_bytes``.

    """
    if isinstance(message, AssistantMessage):
        return _assistant_to_wire(message, profile)
    if isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "name": message.name,
            "content": message.content,
        }
    if isinstance(message, UserMessage):
        content: str | list[dict[str, Any]] = message.content
        if message.images:
            content = [{"type": "text", "text": message.content}, *_image_parts(message.images, profile)]
        if message.name is None:
            return {"role": "user", "content": content}
        return {"role": "user", "content": content, "name": message.name}
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    raise UserError(f"cannot send a message of type {type(message).__name__}")


def messages_to_wire(messages: Sequence[Message], profile: ModelProfile) -> list[dict[str, Any]]:
    """Return the ``messages`` of a request.

    Images a tool returned follow the run of tool results they belong to, as one user message
    (Chat Completions takes images only in user messages) naming each call.

    Raises:
        UserError: see `message_to_wire`.

    """
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for message in messages:
        if pending and not isinstance(message, ToolMessage):
            out.append({"role": "user", "content": pending})
            pending = []
        out.append(message_to_wire(message, profile))
        if isinstance(message, ToolMessage) and message.images:
            text = f"Images returned by the {message.name} call {message.tool_call_id}:"
            pending += [{"type": "text", "text": text}, *_image_parts(message.images, profile)]
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def _image_parts(images: Sequence[ImagePart], profile: ModelProfile) -> list[dict[str, Any]]:
    if not profile.vision:
        raise UserError("this model does not take images: use a vision model (e.g. kimi-k2.6)")
    limit = profile.max_image_bytes
    for image in images:
        if limit is not None and image.size > limit:
            raise UserError(f"an image of {image.size:,} bytes is larger than this model's {limit:,}")
    return [{"type": "image_url", "image_url": {"url": image.url}} for image in images]


def _assistant_to_wire(message: AssistantMessage, profile: ModelProfile) -> dict[str, Any]:
    out: dict[str, Any] = dict(message.extra)
    out["role"] = "assistant"
    content = message.content
    if content is None and not (message.tool_calls and profile.capabilities.null_content_with_tool_calls):
        content = ""
    out["content"] = content
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": c.type, "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if profile.send_reasoning_content and message.reasoning_content is not None:
        out["reasoning_content"] = message.reasoning_content
    if message.partial:
        out["partial"] = True
    if message.name is not None:
        out["name"] = message.name
    return out


# --- tools and schemas --------------------------------------------------------------------------


def tool_to_wire(tool: ToolDefinition, profile: ModelProfile) -> dict[str, Any]:
    """Return the ``tools[]`` entry for ``tool``, sanitised when the profile asks for it.

    Raises:
        UserError: the name starts with a digit on a server that rejects it.

    """
    if tool.kind == "builtin_function":
        return {"type": "builtin_function", "function": {"name": tool.name}}
    parameters: Mapping[str, Any] = tool.parameters
    if profile.sanitize_schemas:
        if tool.name[:1].isdigit():
            raise UserError(
                f"tool name {tool.name!r} starts with a digit, which this model's server rejects: rename it"
            )
        parameters = sanitize_schema(parameters)
    elif not profile.supports_strict_schemas:
        parameters = {k: v for k, v in parameters.items() if k != "strict"}
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
    }


def sanitize_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a tool's parameter schema that Kimi's server accepts.

    Every property gets a ``type`` (inferred from ``enum``/``const``/``properties``/``items``/a
    ``$ref`` target, else `PERMISSIVE_TYPES`); an ``anyOf``/``oneOf`` of bare types becomes a
    type list, and a richer one loses any parent ``type`` beside it (its branches are typed
    instead); ``strict`` keys are dropped. The input is not modified.
    """
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    out = _sanitize_node(schema, defs)
    out.pop("strict", None)
    if "type" not in out and "anyOf" not in out and "oneOf" not in out:
        out["type"] = "object"
    return out


def _sanitize_node(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "strict":
            continue
        if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, Mapping):
            out[key] = {
                name: _sanitize_typed(sub, defs) if isinstance(sub, Mapping) else sub
                for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties", "not") and isinstance(value, Mapping):
            out[key] = _sanitize_typed(value, defs)
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
            out[key] = [_sanitize_typed(sub, defs) if isinstance(sub, Mapping) else sub for sub in value]
        else:
            out[key] = value
    return out


def _sanitize_typed(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """Sanitise a sub-schema that must carry a ``type`` (a property, an item, a branch)."""
    out = _sanitize_node(node, defs)
    union_key = "anyOf" if "anyOf" in out else "oneOf" if "oneOf" in out else None
    if union_key is not None:
        branches = out[union_key]
        bare = _bare_types(branches)
        if bare is not None:
            del out[union_key]
            out["type"] = bare[0] if len(bare) == 1 else bare
        else:
            out.pop("type", None)
        return out
    if "type" not in out:
        out["type"] = _infer_type(out, defs)
    return out


def _bare_types(branches: Sequence[Any]) -> list[str] | None:
    """Return the branches' types when every branch is only ``{"type": T}`` (plus annotations), else None."""
    names: list[str] = []
    for branch in branches:
        if not isinstance(branch, Mapping) or not isinstance(branch.get("type"), str):
            return None
        if set(branch) - {"type", "title", "description"}:
            return None
        if branch["type"] not in names:
            names.append(branch["type"])
    return names


def _infer_type(node: Mapping[str, Any], defs: Mapping[str, Any]) -> str | list[str]:
    if "properties" in node or "additionalProperties" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        if isinstance(target, Mapping) and isinstance(target.get("type"), str):
            return str(target["type"])
        return "object"
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if isinstance(values, list) and values:
        found = []
        for v in values:
            name = _json_type(v)
            if name not in found:
                found.append(name)
        return found[0] if len(found) == 1 else found
    return list(PERMISSIVE_TYPES)


_JSON_TYPES: Final[tuple[tuple[type, str], ...]] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (list, "array"),
    (dict, "object"),
)


def _json_type(value: object) -> str:
    for python_type, name in _JSON_TYPES:
        if isinstance(value, python_type):
            return name
    return "string"


# --- settings and tool choice -------------------------------------------------------------------


def settings_to_wire(settings: ModelSettings, profile: ModelProfile) -> dict[str, Any]:
    """Return the sampling fields of the body: profile defaults filled in, then ``extra_body``.

    Fields in ``profile.fixed_params`` are never sent; the output budget goes in
    ``profile.max_tokens_field``; ``thinking`` becomes ``{"thinking": {"type": ...}}``.

    Raises:
        UserError: the temperature lies outside ``profile.temperature_range``, a setting
            (or an ``extra_body`` key) names a field the server fixes, or ``thinking`` is set
            for a model without a thinking switch.

    """
    _check_fixed(settings, profile)
    out: dict[str, Any] = {}
    temperature = settings.temperature if settings.temperature is not None else profile.default_temperature
    if temperature is not None and "temperature" not in profile.fixed_params:
        low, high = profile.temperature_range
        if not low <= temperature <= high:
            raise UserError(f"temperature {temperature} is outside this model's range [{low}, {high}]")
        out["temperature"] = temperature
    max_tokens = settings.max_tokens if settings.max_tokens is not None else profile.default_max_tokens
    if max_tokens is not None:
        out[profile.max_tokens_field] = max_tokens
    if settings.top_p is not None:
        out["top_p"] = settings.top_p
    if settings.stop is not None:
        out["stop"] = list(settings.stop)
    if settings.seed is not None:
        out["seed"] = settings.seed
    if settings.thinking is not None:
        if not profile.thinking_switch:
            raise UserError("this model has no thinking switch: leave thinking= unset for it")
        out["thinking"] = {"type": "enabled" if settings.thinking else "disabled"}
    out.update(settings.extra_body)
    return out


def _check_fixed(settings: ModelSettings, profile: ModelProfile) -> None:
    fixed = profile.fixed_params
    if not fixed:
        return
    named = {"temperature": settings.temperature, "top_p": settings.top_p}
    given = sorted({k for k, v in named.items() if v is not None} | set(settings.extra_body))
    clash = [k for k in given if k in fixed]
    if clash:
        raise UserError(
            f"this model's server fixes {', '.join(clash)} (it cannot be modified): remove "
            f"{'them' if len(clash) > 1 else 'it'} from the model settings"
        )


def thinking_on(settings: ModelSettings, profile: ModelProfile) -> bool:
    """Return whether a request with ``settings`` makes the model reason."""
    if settings.thinking is not None and profile.thinking_switch:
        return settings.thinking
    return profile.thinks_by_default


def tool_choice_to_wire(
    choice: str | None, tools: Sequence[ToolDefinition], profile: ModelProfile, *, thinking: bool = False
) -> tuple[str | dict[str, Any] | None, bool]:
    """Return ``(tool_choice field or None to omit it, whether the choice must be emulated)``.

    A thinking model takes only ``"auto"``/``"none"``: with ``thinking`` on, ``"required"`` and a
    named tool are emulated (no ``tool_choice`` field, a user nudge instead), so thinking stays
    on for every request and the ``reasoning_content`` of the history stays consistent.

    Raises:
        UserError: ``choice`` names a tool that is not in ``tools``.

    """
    if choice is None or choice in ("auto", "none"):
        return choice, False
    if choice == "required":
        if profile.supports_tool_choice_required and not thinking:
            return "required", False
        return None, True
    if not any(t.name == choice for t in tools):
        raise UserError(f"tool_choice {choice!r} is not one of the request's tools")
    if thinking:
        return None, True
    return {"type": "function", "function": {"name": choice}}, False


def _nudge(choice: str | None, profile: ModelProfile) -> str:
    if choice == "required":
        return profile.tool_choice_required_nudge
    return profile.tool_choice_named_nudge.format(name=choice)


# --- the whole request --------------------------------------------------------------------------


def build_request_body(
    request: ModelRequest,
    *,
    model_name: str,
    profile: ModelProfile,
    stream: bool,
    tools_wire: Sequence[dict[str, Any]] | None = None,
) -> WireRequest:
    """Return the Chat Completions body for ``request``.

    ``tools_wire`` lets a caller pass tool entries it already mapped (and cached) with
    `tool_to_wire`; otherwise they are mapped here.

    Raises:
        UserError: too many tools, an unknown forced tool, a bad temperature or tool name.

    """
    if profile.max_tools is not None and len(request.tools) > profile.max_tools:
        raise UserError(
            f"{len(request.tools)} tools were given but this model accepts at most {profile.max_tools}"
        )
    _check_partial_mode(request)
    messages = messages_to_wire(request.messages, profile)
    thinking = thinking_on(request.settings, profile)
    choice, emulated = tool_choice_to_wire(request.tool_choice, request.tools, profile, thinking=thinking)
    if emulated:
        messages.append({"role": "user", "content": _nudge(request.tool_choice, profile)})
    body: dict[str, Any] = {"model": model_name, "messages": messages}
    if request.tools:
        body["tools"] = (
            list(tools_wire) if tools_wire is not None else [tool_to_wire(t, profile) for t in request.tools]
        )
    if choice is not None:
        body["tool_choice"] = choice
    if request.response_format is not None:
        body["response_format"] = dict(request.response_format)
    if stream:
        body["stream"] = True
        if profile.capabilities.stream_usage:
            body["stream_options"] = {"include_usage": True}
    if profile.capabilities.parallel_tool_calls is not None and request.tools:
        body["parallel_tool_calls"] = profile.capabilities.parallel_tool_calls
    body.update(settings_to_wire(request.settings, profile))
    return WireRequest(body=body, tool_choice_emulated=emulated)


def _check_partial_mode(request: ModelRequest) -> None:
    """Partial mode (a trailing ``partial`` assistant message) and json_object output exclude each other.

    Kimi refuses the combination; the format may come as ``response_format`` or in the settings'
    ``extra_body``, so both are checked before anything is sent.
    """
    last = request.messages[-1] if request.messages else None
    if not isinstance(last, AssistantMessage) or not last.partial:
        return
    formats = (request.response_format, request.settings.extra_body.get("response_format"))
    if any(isinstance(f, Mapping) and f.get("type") == "json_object" for f in formats):
        raise UserError(
            "a prefill (a partial assistant message, prefill=) cannot be combined with response_format "
            "json_object (Kimi refuses partial mode with it): drop one; a prefill of '{' with "
            "output_type= already yields JSON"
        )


# --- responses ----------------------------------------------------------------------------------


def excerpt(text: str | bytes) -> str:
    """Return ``text`` cut to a short excerpt for error messages."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "..."


def decode_body(content: bytes | str) -> dict[str, Any]:
    """Decode a JSON object body (bytes as read, or text such as an SSE line's data).

    Raises:
        ModelResponseError: the body is not a JSON object (with a short excerpt).

    """
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise ModelResponseError(f"response body is not JSON: {excerpt(content)!r}") from None
    if not isinstance(data, dict):
        raise ModelResponseError(f"response body is not a JSON object: {excerpt(content)!r}")
    return data


def parse_usage(usage: Mapping[str, Any] | None, *, web_searches: int = 0) -> Usage:
    """Return `Usage` for one request from a wire ``usage`` dict (``None`` -> zero tokens)."""
    if not usage:
        return Usage(requests=1, web_searches=web_searches)
    cached = usage.get("cached_tokens")
    if cached is None:
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    output_details = usage.get("completion_tokens_details")
    reasoning = output_details.get("reasoning_tokens") if isinstance(output_details, Mapping) else None
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(cached or 0),
        requests=1,
        web_searches=web_searches,
        reasoning_tokens=int(reasoning or 0),
    )


def estimate_usage(
    wire_request: Mapping[str, Any] | None, message: AssistantMessage, *, web_searches: int = 0
) -> Usage:
    """Return estimated `Usage` for an answer whose server reported none.

    agentkit's one local estimate ([`agentkit.tokens`][]): the request's messages and tools
    as sent (their JSON) for the input, the answer's text, reasoning and tool calls for the
    output. ``estimated_requests`` is 1.
    """
    sent = ""
    if wire_request is not None:
        sent = orjson.dumps([wire_request.get("messages") or [], wire_request.get("tools") or []]).decode()
    return Usage(
        input_tokens=text_tokens(sent),
        output_tokens=answer_tokens(message),
        requests=1,
        web_searches=web_searches,
        estimated_requests=1,
    )


def _mark_declared_builtins(
    message: AssistantMessage, wire_request: Mapping[str, Any] | None
) -> AssistantMessage:
    """Type as ``builtin_function`` the calls to builtins the request declared, whatever type they came with.

    A gateway may relabel a ``$web_search`` call ``"type": "function"``; the name is what the
    model was offered, so the call is answered (and billed) as the builtin it is.
    """
    if not message.tool_calls or wire_request is None:
        return message
    declared = {
        t["function"].get("name")
        for t in wire_request.get("tools") or ()
        if isinstance(t, Mapping)
        and t.get("type") == "builtin_function"
        and isinstance(t.get("function"), Mapping)
    }
    if not declared or all(
        c.type == "builtin_function" or c.name not in declared for c in message.tool_calls
    ):
        return message
    calls = tuple(
        replace(c, type="builtin_function") if c.name in declared else c for c in message.tool_calls
    )
    return replace(message, tool_calls=calls)


def _parse_message(wire: Mapping[str, Any]) -> AssistantMessage:
    calls = []
    for raw in wire.get("tool_calls") or ():
        function = raw.get("function") or {}
        arguments = function.get("arguments")
        calls.append(
            ToolCall(
                id=str(raw.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode(),
                type=str(raw.get("type") or "function"),
            )
        )
    extra = {k: v for k, v in wire.items() if k not in _KNOWN_MESSAGE_FIELDS and v is not None}
    return AssistantMessage(
        content=wire.get("content"),
        tool_calls=tuple(calls),
        reasoning_content=wire.get("reasoning_content"),
        extra=extra,
    )


def parse_response(
    data: Mapping[str, Any],
    *,
    model_name: str,
    profile: ModelProfile,
    request_id: str | None = None,
    wire_request: Mapping[str, Any] | None = None,
) -> ModelResponse:
    """Return the `ModelResponse` for a decoded (non-streamed) body.

    ``model_name`` is the requested model; the body's ``model`` (the one that answered) names
    the response and picks the price when the profile knows it.

    Raises:
        ModelResponseError: the body has no ``choices[0].message``.

    """
    choices = data.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(first, Mapping) or not isinstance(first.get("message"), Mapping):
        raise ModelResponseError(f"response has no choices[0].message: {excerpt(orjson.dumps(data))!r}")
    wire_message = first["message"]
    message = _parse_message(wire_message)
    if profile.recover_tool_call_markup:
        message = recover_tool_calls(message)
    if profile.decode_double_encoded_arguments:
        message = decode_double_encoded(message)
    message = _mark_declared_builtins(message, wire_request)
    web_searches = sum(1 for c in message.tool_calls if c.type == "builtin_function")
    usage_wire = data.get("usage") or first.get("usage")
    if usage_wire:
        usage = parse_usage(usage_wire, web_searches=web_searches)
    else:
        usage = estimate_usage(wire_request, message, web_searches=web_searches)
    answered = str(data.get("model") or model_name)
    price = profile.prices.get(answered) or profile.prices.get(model_name)
    return ModelResponse(
        message=message,
        finish_reason=first.get("finish_reason"),
        usage=usage,
        model_name=answered,
        cost_usd=cost_usd(usage, price),
        request_id=request_id,
        raw=data,
        wire_request=wire_request,
    )
