"""Pure mapping between agentkit's provider-neutral types and the Anthropic Messages wire format.

No I/O here. `build_messages_body` turns a `ModelRequest` into a ``/v1/messages``
body: system messages go to the top-level ``system``, assistant tool calls become ``tool_use``
blocks, tool results become ``tool_result`` blocks in one user message (several per turn), and
``tool_choice`` maps to ``auto`` / ``any`` / ``tool`` / ``none``. `parse_message_body`
and `MessagesStreamAccumulator` map answers back, with finish reasons in the neutral
(Chat Completions) vocabulary: ``stop``, ``tool_calls``, ``length``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from agentkit.events import ReasoningDelta, TextDelta
from agentkit.exceptions import ModelResponseError, UserError
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.models._openai_wire import decode_body, excerpt
from agentkit.models.abstract import (
    ModelProfile,
    ModelRequest,
    ModelResponse,
    ModelStreamEvent,
    ToolCallDelta,
    ToolDefinition,
)
from agentkit.usage import Usage, cost_usd

__all__ = [
    "STOP_REASONS",
    "MessagesStreamAccumulator",
    "build_messages_body",
    "messages_to_wire",
    "parse_message_body",
    "parse_usage",
]

#: Anthropic ``stop_reason`` -> the neutral ``finish_reason``.
STOP_REASONS: Final[Mapping[str, str]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}
#: The Messages API requires ``max_tokens``; used when neither settings nor profile give one.
FALLBACK_MAX_TOKENS: Final = 4096


# --- requests -----------------------------------------------------------------------------------


def _arguments_object(call: ToolCall) -> dict[str, Any]:
    """A ``tool_use.input`` object from the raw argument string (kept visible when it is not one)."""
    try:
        value = orjson.loads(call.arguments) if call.arguments.strip() else {}
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"_unparsed_arguments": call.arguments}


def _assistant_blocks(message: AssistantMessage, profile: ModelProfile) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if profile.send_reasoning_content and message.reasoning_content:
        thinking: dict[str, Any] = {"type": "thinking", "thinking": message.reasoning_content}
        signature = message.extra.get("thinking_signature")
        if isinstance(signature, str):
            thinking["signature"] = signature
        blocks.append(thinking)
    if message.content:
        text = message.content.rstrip() if message.partial else message.content
        blocks.append({"type": "text", "text": text})
    blocks.extend(
        {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments_object(c)}
        for c in message.tool_calls
    )
    return blocks


def messages_to_wire(
    messages: Sequence[Message], profile: ModelProfile
) -> tuple[str | None, list[dict[str, Any]]]:
    """Return ``(system prompt or None, messages[])``; consecutive same-role turns are merged.

    Raises:
        UserError: a message of an unknown type.

    """
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in messages:
        if isinstance(message, UserMessage | ToolMessage) and message.images:
            raise UserError("images are not sent over the Anthropic-compatible endpoint: use KimiModel")
        if isinstance(message, SystemMessage):
            system.append(message.content)
        elif isinstance(message, UserMessage):
            add("user", [{"type": "text", "text": message.content}])
        elif isinstance(message, ToolMessage):
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            if message.is_error:
                block["is_error"] = True
            add("user", [block])
        elif isinstance(message, AssistantMessage):
            add("assistant", _assistant_blocks(message, profile))
        else:
            raise UserError(f"cannot send a message of type {type(message).__name__}")
    return ("\n\n".join(system) if system else None), out


def tool_to_wire(tool: ToolDefinition) -> dict[str, Any]:
    """Return the ``tools[]`` entry for ``tool``.

    Raises:
        UserError: a provider builtin (``builtin_function``), which this wire format cannot declare.

    """
    if tool.kind == "builtin_function":
        raise UserError(f"builtin tool {tool.name!r} is Kimi Chat Completions only; use KimiModel for it")
    schema = {k: v for k, v in tool.parameters.items() if k != "strict"} or {"type": "object"}
    return {"name": tool.name, "description": tool.description, "input_schema": schema}


def tool_choice_to_wire(choice: str | None, tools: Sequence[ToolDefinition]) -> dict[str, Any] | None:
    """Map ``auto`` / ``none`` / ``required`` / a tool name to Anthropic's ``tool_choice``.

    Raises:
        UserError: ``choice`` names a tool that is not in ``tools``.

    """
    if choice is None or not tools:
        return None
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    if not any(t.name == choice for t in tools):
        raise UserError(f"tool_choice {choice!r} is not one of the request's tools")
    return {"type": "tool", "name": choice}


def build_messages_body(
    request: ModelRequest, *, model_name: str, profile: ModelProfile, stream: bool
) -> dict[str, Any]:
    """Return the ``/v1/messages`` body for ``request``.

    Raises:
        UserError: a JSON ``response_format`` (not part of this API), a bad temperature, too many
            tools, an unknown forced tool.

    """
    if request.response_format is not None:
        raise UserError("response_format is not supported by the Anthropic Messages API; use output_type=")
    if profile.max_tools is not None and len(request.tools) > profile.max_tools:
        raise UserError(
            f"{len(request.tools)} tools were given but this model accepts at most {profile.max_tools}"
        )
    system, messages = messages_to_wire(request.messages, profile)
    settings = request.settings
    max_tokens = settings.max_tokens or profile.default_max_tokens or FALLBACK_MAX_TOKENS
    body: dict[str, Any] = {"model": model_name, "max_tokens": max_tokens, "messages": messages}
    if system is not None:
        body["system"] = system
    if request.tools:
        body["tools"] = [tool_to_wire(t) for t in request.tools]
    choice = tool_choice_to_wire(request.tool_choice, request.tools)
    if choice is not None:
        body["tool_choice"] = choice
    temperature = settings.temperature if settings.temperature is not None else profile.default_temperature
    if temperature is not None:
        low, high = profile.temperature_range
        if not low <= temperature <= high:
            raise UserError(f"temperature {temperature} is outside this model's range [{low}, {high}]")
        body["temperature"] = temperature
    if settings.top_p is not None:
        body["top_p"] = settings.top_p
    if settings.stop is not None:
        body["stop_sequences"] = list(settings.stop)
    if stream:
        body["stream"] = True
    body.update(settings.extra_body)
    return body


# --- responses ----------------------------------------------------------------------------------


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Return `Usage` for one request.

    Anthropic's ``input_tokens`` excludes cache reads and writes; agentkit's includes them (so
    ``cached_tokens`` is part of ``input_tokens``, as on Kimi). Cache writes count as uncached input.
    """
    if not usage:
        return Usage(requests=1)
    read = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0) + read + written,
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_tokens=read,
        requests=1,
    )


def _message_from_blocks(blocks: Sequence[Any]) -> AssistantMessage:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    extra: dict[str, Any] = {}
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking") or ""))
            if isinstance(block.get("signature"), str):
                extra["thinking_signature"] = block["signature"]
        elif kind == "tool_use":
            arguments = block.get("input")
            raw = arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode()
            calls.append(
                ToolCall(id=str(block.get("id") or ""), name=str(block.get("name") or ""), arguments=raw)
            )
    return AssistantMessage(
        content="".join(texts) if texts else None,
        tool_calls=tuple(calls),
        reasoning_content="".join(thinking) if thinking else None,
        extra=extra,
    )


def parse_message_body(
    data: Mapping[str, Any],
    *,
    model_name: str,
    profile: ModelProfile,
    request_id: str | None = None,
    wire_request: Mapping[str, Any] | None = None,
) -> ModelResponse:
    """Return the `ModelResponse` for a decoded ``message`` body.

    Raises:
        ModelResponseError: the body has no ``content`` list.

    """
    content = data.get("content")
    if not isinstance(content, list):
        raise ModelResponseError(f"response has no content blocks: {excerpt(orjson.dumps(data))!r}")
    usage = parse_usage(data.get("usage"))
    answered = str(data.get("model") or model_name)
    price = profile.prices.get(answered) or profile.prices.get(model_name)
    stop = data.get("stop_reason")
    return ModelResponse(
        message=_message_from_blocks(content),
        finish_reason=STOP_REASONS.get(stop, stop) if isinstance(stop, str) else None,
        usage=usage,
        model_name=answered,
        cost_usd=cost_usd(usage, price),
        request_id=request_id,
        raw=data,
        wire_request=wire_request,
    )


# --- streaming ----------------------------------------------------------------------------------


@dataclass(kw_only=True, slots=True)
class _Block:
    type: str
    data: dict[str, Any]
    parts: list[str] = field(default_factory=list)


class MessagesStreamAccumulator:
    """Folds Messages SSE events into deltas and, at the end, the whole ``message`` body."""

    __slots__ = ("_blocks", "_message", "_tool_index", "saw_stop")

    def __init__(self) -> None:
        self._message: dict[str, Any] = {}
        self._blocks: dict[int, _Block] = {}
        self._tool_index: dict[int, int] = {}
        #: True once ``message_stop`` arrived.
        self.saw_stop = False

    def feed_line(self, line: str) -> list[ModelStreamEvent]:
        """Take one SSE line (``event:`` lines and blanks are ignored; ``data:`` carries the type)."""
        if not line.startswith("data:"):
            return []
        payload = line[5:].strip()
        return self.feed(decode_body(payload.encode())) if payload else []

    def feed(self, event: Mapping[str, Any]) -> list[ModelStreamEvent]:
        """Take one decoded event and return the deltas it carries.

        Raises:
            ModelResponseError: an in-stream ``error`` event.

        """
        kind = event.get("type")
        if kind == "error":
            error = event.get("error") if isinstance(event.get("error"), Mapping) else {}
            assert isinstance(error, Mapping)
            raise ModelResponseError(
                f"stream failed: {error.get('type') or 'error'}: {excerpt(str(error.get('message')))}"
            )
        if kind == "message_start" and isinstance(event.get("message"), Mapping):
            self._message = dict(event["message"])
        elif kind == "content_block_start":
            return self._start_block(int(event.get("index") or 0), event.get("content_block") or {})
        elif kind == "content_block_delta":
            return self._delta(int(event.get("index") or 0), event.get("delta") or {})
        elif kind == "message_delta":
            self._message_delta(event)
        elif kind == "message_stop":
            self.saw_stop = True
        return []

    def _start_block(self, index: int, block: Mapping[str, Any]) -> list[ModelStreamEvent]:
        kind = str(block.get("type") or "text")
        self._blocks[index] = _Block(type=kind, data=dict(block))
        if kind != "tool_use":
            return []
        position = len(self._tool_index)
        self._tool_index[index] = position
        name, call_id = block.get("name"), block.get("id")
        return [ToolCallDelta(index=position, id=str(call_id or "") or None, name=str(name or "") or None)]

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[ModelStreamEvent]:
        block = self._blocks.setdefault(index, _Block(type="text", data={"type": "text"}))
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            block.parts.append(text)
            return [TextDelta(text=text)] if text else []
        if kind == "thinking_delta":
            text = str(delta.get("thinking") or "")
            block.parts.append(text)
            return [ReasoningDelta(text=text)] if text else []
        if kind == "signature_delta":
            block.data["signature"] = str(block.data.get("signature") or "") + str(
                delta.get("signature") or ""
            )
        elif kind == "input_json_delta":
            fragment = str(delta.get("partial_json") or "")
            block.parts.append(fragment)
            return [ToolCallDelta(index=self._tool_index.get(index, 0), arguments=fragment)]
        return []

    def _message_delta(self, event: Mapping[str, Any]) -> None:
        delta = event.get("delta")
        if isinstance(delta, Mapping) and delta.get("stop_reason"):
            self._message["stop_reason"] = delta["stop_reason"]
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            self._message["usage"] = {**(self._message.get("usage") or {}), **usage}

    def message_body(self) -> dict[str, Any]:
        """Return the stream as the ``message`` body a non-streamed call would have returned."""
        blocks: list[dict[str, Any]] = []
        for _, block in sorted(self._blocks.items()):
            data = dict(block.data)
            if block.type == "text":
                data["text"] = str(data.get("text") or "") + "".join(block.parts)
            elif block.type == "thinking":
                data["thinking"] = str(data.get("thinking") or "") + "".join(block.parts)
            elif block.type == "tool_use":
                joined = "".join(block.parts)
                data["input"] = joined if joined.strip() else (data.get("input") or {})
            blocks.append(data)
        return {**self._message, "content": blocks}
