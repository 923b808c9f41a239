"""Scripted replies and the Kimi (OpenAI Chat Completions) wire bodies built from them.

Pure functions only: no sockets, no threads. [`agentkit.testing._fake_kimi`][]
does the I/O.

Token counts are a crude, deterministic estimate (the fake has no tokenizer):
``prompt_tokens = characters of the request's message text // 4 + 10`` and
``completion_tokens = max(1, characters of the reply's text // 4)``, where the
text is message contents, reasoning, tool names and tool arguments.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

if TYPE_CHECKING:
    from agentkit.messages import AssistantMessage
    from agentkit.models.abstract import ModelResponse

__all__ = [
    "Reply",
    "completion_body",
    "error_body",
    "estimate_prompt_tokens",
    "stream_events",
    "tool_call_ids",
]

#: ``(prompt_tokens, completion_tokens, cached_tokens)``.
UsageTriple = tuple[int, int, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """One scripted answer of [`FakeKimiServer`][agentkit.testing.FakeKimiServer].

    Build it with `text`, `tool_calls`, `error` or `raw`;
    change a field afterwards with `dataclasses.replace`.

    Attributes:
        kind: ``"completion"``, ``"error"`` or ``"raw"``.
        content: the assistant text (``None``: no content).
        reasoning: ``reasoning_content`` of a thinking model (``None``: omitted).
        calls: ``(name, arguments)`` pairs; arguments are sent verbatim.
        finish_reason: ``stop``, ``length``, ``tool_calls``...
        status: HTTP status (errors and raw replies).
        error_type: Kimi's ``error.type`` (errors).
        message: ``error.message`` (errors).
        retry_after: seconds for a ``Retry-After`` header (``None``: no header).
        body: the exact bytes of a raw reply.
        content_type: ``Content-Type`` of a raw reply.
        latency_s: seconds to wait before answering.
        cut_stream_after: when streaming, send this many SSE events then drop
            the connection without ``[DONE]`` (ignored when not streaming).
        headers: extra response headers (they override the default
            ``x-request-id`` / ``Msh-Request-Id``).
        usage: ``(prompt_tokens, completion_tokens, cached_tokens)`` instead of
            the estimate.
        chunk_delay_s: when streaming, seconds to wait before each SSE event after
            the first (paces the stream like a model generating tokens).
        omit_usage: send no ``usage`` at all (neither in the body nor in the stream),
            as some gateways do.

    """

    kind: Literal["completion", "error", "raw"] = "completion"
    content: str | None = None
    reasoning: str | None = None
    calls: tuple[tuple[str, str], ...] = ()
    finish_reason: str = "stop"
    status: int = 200
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    body: bytes = b""
    content_type: str = "application/json"
    latency_s: float = 0.0
    cut_stream_after: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    usage: UsageTriple | None = None
    chunk_delay_s: float = 0.0
    omit_usage: bool = False

    @classmethod
    def text(
        cls,
        content: str,
        *,
        reasoning: str | None = None,
        finish_reason: str = "stop",
        usage: UsageTriple | None = None,
        latency_s: float = 0.0,
        cut_stream_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Answer with text (raw ``<|tool_call_begin|>`` markup included, if you like)."""
        return cls(
            content=content,
            reasoning=reasoning,
            finish_reason=finish_reason,
            usage=usage,
            latency_s=latency_s,
            cut_stream_after=cut_stream_after,
            headers=dict(headers or {}),
        )

    @classmethod
    def tool_calls(
        cls,
        *calls: tuple[str, Mapping[str, Any] | str],
        content: str | None = None,
        reasoning: str | None = None,
        finish_reason: str = "tool_calls",
        usage: UsageTriple | None = None,
        latency_s: float = 0.0,
        cut_stream_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Ask for tool ``calls`` (in parallel when there are several).

        Each call is ``(name, arguments)``: a mapping is JSON-encoded, a string
        is sent verbatim (malformed or double-encoded JSON, empty names: all
        allowed). Ids are Kimi's ``functions.{name}:{idx}``, counted across the
        whole conversation.
        """
        encoded = tuple(
            (name, args if isinstance(args, str) else orjson.dumps(dict(args)).decode())
            for name, args in calls
        )
        return cls(
            content=content,
            reasoning=reasoning,
            calls=encoded,
            finish_reason=finish_reason,
            usage=usage,
            latency_s=latency_s,
            cut_stream_after=cut_stream_after,
            headers=dict(headers or {}),
        )

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str,
        message: str,
        *,
        retry_after: float | None = None,
        latency_s: float = 0.0,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Fail with an HTTP error and Kimi's body ``{"error": {"type": ..., "message": ...}}``."""
        return cls(
            kind="error",
            status=status,
            error_type=error_type,
            message=message,
            retry_after=retry_after,
            latency_s=latency_s,
            headers=dict(headers or {}),
        )

    def model_reply(self) -> ModelResponse | AssistantMessage:
        """What this reply means to an in-process double such as `ScriptedModel`.

        The same script drives [`FakeKimiServer`][agentkit.testing.FakeKimiServer] over HTTP and
        [`ScriptedModel`][agentkit.models.function.ScriptedModel]/``FunctionModel`` in process.
        Tool-call ids are left for the double to number (``functions.NAME:IDX``).

        >>> Reply.tool_calls(("a", {"x": 1}), ("b", {})).model_reply().tool_calls[1].name
        'b'

        Raises:
            ModelHTTPError: for an `error` reply (what a provider raises for it).
            ModelResponseError: for a `raw` reply, which only means something on the wire.
        """
        from agentkit.exceptions import ModelHTTPError, ModelResponseError  # noqa: PLC0415 - keep the wire module light
        from agentkit.messages import AssistantMessage, ToolCall  # noqa: PLC0415
        from agentkit.models.abstract import ModelResponse  # noqa: PLC0415
        from agentkit.usage import Usage  # noqa: PLC0415

        if self.kind == "error":
            raise ModelHTTPError(
                status_code=self.status, error_type=self.error_type, message=self.message or ""
            )
        if self.kind == "raw":
            raise ModelResponseError(
                "a raw Reply is bytes for the loopback servers; script text, calls or errors"
            )
        message = AssistantMessage(
            content=self.content,
            tool_calls=tuple(ToolCall(id="", name=name, arguments=args) for name, args in self.calls),
            reasoning_content=self.reasoning,
        )
        if self.usage is None and self.finish_reason in ("stop", "tool_calls"):
            return message  # the double estimates usage, as for any message
        prompt, completion, cached = self.usage or (0, 0, 0)
        return ModelResponse(
            message=message,
            finish_reason=self.finish_reason,
            usage=Usage(input_tokens=prompt, output_tokens=completion, cached_tokens=cached, requests=1),
            model_name="scripted",
        )

    @classmethod
    def raw(
        cls,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        *,
        latency_s: float = 0.0,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Exactly these bytes as the response body (for unparseable answers)."""
        return cls(
            kind="raw",
            status=status,
            body=body,
            content_type=content_type,
            latency_s=latency_s,
            headers=dict(headers or {}),
        )


def error_body(error_type: str, message: str) -> bytes:
    """Kimi's error body."""
    return orjson.dumps({"error": {"type": error_type, "message": message}})


def _message_text(message: Mapping[str, Any]) -> int:
    """Characters of one request message's text (contents, reasoning, tool calls)."""
    total = 0
    content = message.get("content")
    if isinstance(content, str):
        total += len(content)
    elif isinstance(content, list):
        total += sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str):
        total += len(reasoning)
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            total += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
    return total


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """Crude deterministic prompt size: message text characters // 4 + 10."""
    messages = body.get("messages")
    chars = (
        sum(_message_text(m) for m in messages if isinstance(m, dict)) if isinstance(messages, list) else 0
    )
    return chars // 4 + 10


def _completion_tokens(reply: Reply) -> int:
    chars = len(reply.content or "") + len(reply.reasoning or "")
    chars += sum(len(name) + len(args) for name, args in reply.calls)
    return max(1, chars // 4)


def _usage(reply: Reply, body: Mapping[str, Any]) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion, cached = reply.usage
    else:
        prompt, completion, cached = estimate_prompt_tokens(body), _completion_tokens(reply), 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_tokens": cached,
    }


def tool_call_ids(reply: Reply, body: Mapping[str, Any]) -> list[str]:
    """Kimi ids for ``reply``'s calls: ``functions.{name}:{idx}``, idx continuing the conversation's count."""
    messages = body.get("messages")
    seen = 0
    if isinstance(messages, list):
        for m in messages:
            if isinstance(m, dict) and m.get("role") == "assistant":
                seen += len(m.get("tool_calls") or ())
    return [f"functions.{name}:{seen + i}" for i, (name, _) in enumerate(reply.calls)]


def _wire_tool_calls(reply: Reply, ids: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"index": i, "id": ids[i], "type": "function", "function": {"name": name, "arguments": args}}
        for i, (name, args) in enumerate(reply.calls)
    ]


def completion_body(reply: Reply, body: Mapping[str, Any], *, response_id: str) -> dict[str, Any]:
    """Build the non-streaming ``chat.completion`` body for ``reply`` answering request ``body``."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.calls:
        message["tool_calls"] = _wire_tool_calls(reply, tool_call_ids(reply, body))
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    completion = {
        "id": response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "kimi-fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": _usage(reply, body),
    }
    if reply.omit_usage:
        del completion["usage"]
    return completion


def _split(text: str, parts: int) -> list[str]:
    """``text`` in exactly ``parts`` consecutive pieces (some may be empty when it is short)."""
    cuts = [len(text) * i // parts for i in range(parts + 1)]
    return [text[cuts[i] : cuts[i + 1]] for i in range(parts)]


def _deltas(reply: Reply, body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the ``delta`` objects of a stream, in Kimi's order."""
    yield {"role": "assistant"}
    if reply.reasoning:
        for piece in _split(reply.reasoning, min(3, len(reply.reasoning))):
            yield {"reasoning_content": piece}
    if reply.content:
        for piece in _split(reply.content, min(3, len(reply.content))):
            yield {"content": piece}
    ids = tool_call_ids(reply, body)
    for i, (name, args) in enumerate(reply.calls):
        first = {"index": i, "id": ids[i], "type": "function", "function": {"name": name, "arguments": ""}}
        yield {"tool_calls": [first]}
        for piece in _split(args, 3 if len(args) >= 3 else 2):
            yield {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}


def stream_events(reply: Reply, body: Mapping[str, Any], *, response_id: str) -> list[bytes]:
    """Build every SSE event (``data: {chunk}`` + blank line) of an answer, then ``data: [DONE]``.

    Usage goes in ``choices[0].usage`` of the final chunk (Kimi), or, when the
    request sets ``stream_options.include_usage``, in a separate last chunk
    with ``choices: []`` and a top-level ``usage`` (OpenAI).
    """
    base = {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "kimi-fake"),
    }
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in _deltas(reply, body)
    ]
    usage = _usage(reply, body)
    options = body.get("stream_options")
    openai_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    final: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": reply.finish_reason}
    if not openai_usage and not reply.omit_usage:
        final["usage"] = usage
    chunks.append({**base, "choices": [final]})
    if openai_usage and not reply.omit_usage:
        chunks.append({**base, "choices": [], "usage": usage})
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
