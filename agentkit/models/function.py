"""In-process model doubles: a Python function or a script plays the model.

For unit tests and offline examples. (Tests that exercise the wire use the
loopback server in [`agentkit.testing`][] instead.)

>>> import anyio
>>> from agentkit.messages import UserMessage
>>> model = ScriptedModel(["Hello!"])
>>> response = anyio.run(model.complete, ModelRequest(messages=[UserMessage(content="hi")]))
>>> response.message.content
'Hello!'
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from agentkit import _json
from agentkit.events import ReasoningDelta, TextDelta
from agentkit.exceptions import ModelResponseError, UserError
from agentkit.messages import AssistantMessage, ToolCall
from agentkit.models.abstract import ModelRequest, ModelResponse, ModelStreamEvent, ToolCallDelta
from agentkit.tokens import answer_tokens, estimate_tokens
from agentkit.usage import Usage

__all__ = ["FunctionModel", "ModelReply", "ScriptedModel", "ScriptedReply", "call"]


@runtime_checkable
class ScriptedReply(Protocol):
    """A scripted answer that knows what it means in process, e.g. [`agentkit.testing.Reply`][].

    `model_reply` returns the message or response it stands for, or raises the error a
    provider would raise for it (an HTTP error reply raises
    [`ModelHTTPError`][agentkit.exceptions.ModelHTTPError]).
    """

    def model_reply(self) -> ModelResponse | AssistantMessage:
        """The answer in agentkit's own types (or raise the provider's error for it)."""
        ...


#: What a model function may return (and a script may hold): answer text, one tool call, a
#: sequence of tool calls (a parallel turn; ``(name, arguments)`` pairs allowed), a message,
#: a whole response, or a `ScriptedReply` such as [`agentkit.testing.Reply`][].
ModelReply = (
    ModelResponse
    | AssistantMessage
    | ToolCall
    | str
    | ScriptedReply
    | Sequence[ToolCall | tuple[str, str | Mapping[str, Any]]]
)

ModelFunction = Callable[[ModelRequest], ModelReply | Awaitable[ModelReply]]


def __getattr__(name: str) -> object:
    if name == "Reply":  # the old name of ModelReply, easily confused with agentkit.testing.Reply
        warnings.warn(
            "agentkit.models.function.Reply is renamed ModelReply; scripted answers for every double "
            "are agentkit.testing.Reply",
            DeprecationWarning,
            stacklevel=2,
        )
        return ModelReply
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def call(name: str, arguments: str | Mapping[str, Any] = "{}", *, id: str | None = None) -> ToolCall:
    """Build a `ToolCall` for a scripted reply (dict arguments are JSON-encoded)."""
    raw = arguments if isinstance(arguments, str) else _json.dumps(dict(arguments))
    return ToolCall(id=id or "", name=name, arguments=raw)


class FunctionModel:
    """A model played by ``fn(request)``, sync or async.

    ``fn`` returns a string (the answer text), a `ToolCall` (see
    `call`), a list of tool calls (a parallel turn), an
    `AssistantMessage`, a full `ModelResponse`, or an
    [`agentkit.testing.Reply`][] (the same scripted replies the loopback
    servers take). Usage is
    estimated with [`agentkit.tokens`][] (the prompt by `estimate_tokens`, the answer by
    `answer_tokens`) unless a ModelResponse carries its own.
    Tool calls without an id (the `call` default) get Kimi-style ids,
    ``functions.NAME:IDX``, numbered across the model's lifetime.
    """

    def __init__(self, fn: ModelFunction, *, model_name: str = "function") -> None:
        self._fn = fn
        self._name = model_name
        self._ids = itertools.count()
        self.requests: list[ModelRequest] = []

    @property
    def model_name(self) -> str:
        """The name this double reports."""
        return self._name

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Call the function and wrap its reply in a `ModelResponse`."""
        self.requests.append(request)
        reply = self._fn(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return self._to_response(request, reply)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Yield the reply as deltas (reasoning, text, tool calls), then the response."""
        response = await self.complete(request)
        message = response.message
        if message.reasoning_content:
            yield ReasoningDelta(text=message.reasoning_content)
        if message.content:
            yield TextDelta(text=message.content)
        for index, tool_call in enumerate(message.tool_calls):
            yield ToolCallDelta(
                index=index, id=tool_call.id, name=tool_call.name, arguments=tool_call.arguments
            )
        yield response

    def _to_response(self, request: ModelRequest, reply: ModelReply) -> ModelResponse:
        if isinstance(reply, ScriptedReply):
            reply = reply.model_reply()
        if isinstance(reply, ModelResponse):
            if reply.message.tool_calls and any(not c.id for c in reply.message.tool_calls):
                reply = dataclasses.replace(reply, message=_renumber(reply.message, self._ids))
            return reply
        message = _to_message(reply)
        if message.tool_calls:
            message = _renumber(message, self._ids)
        usage = Usage(
            input_tokens=estimate_tokens(request.messages, request.tools),
            output_tokens=answer_tokens(message),
            requests=1,
        )
        return ModelResponse(
            message=message,
            finish_reason="tool_calls" if message.tool_calls else "stop",
            usage=usage,
            model_name=self._name,
        )


def _to_message(reply: AssistantMessage | ToolCall | str | Sequence[Any]) -> AssistantMessage:
    """The assistant message a plain scripted reply stands for."""
    if isinstance(reply, AssistantMessage):
        return reply
    if isinstance(reply, str):
        return AssistantMessage(content=reply)
    if isinstance(reply, ToolCall):
        return AssistantMessage(tool_calls=(reply,))
    if isinstance(reply, Sequence):
        calls = tuple(item if isinstance(item, ToolCall) else call(*item) for item in reply)
        return AssistantMessage(tool_calls=calls)
    raise UserError(
        f"a scripted reply cannot be a {type(reply).__name__}: use text, call(...), a list of calls, "
        "an AssistantMessage, a ModelResponse or agentkit.testing.Reply"
    )


def _renumber(message: AssistantMessage, ids: Iterable[int]) -> AssistantMessage:
    counter = iter(ids)
    calls = tuple(
        ToolCall(id=f"functions.{c.name}:{next(counter)}", name=c.name, arguments=c.arguments, type=c.type)
        if not c.id
        else c
        for c in message.tool_calls
    )
    return AssistantMessage(
        content=message.content,
        tool_calls=calls,
        reasoning_content=message.reasoning_content,
        name=message.name,
        extra=message.extra,
    )


class ScriptedModel(FunctionModel):
    """A model that plays back ``replies`` in order, one per request.

    Running out of replies raises `ModelResponseError`, so a test
    notices an agent that calls the model more often than expected.
    """

    def __init__(self, replies: Iterable[ModelReply], *, model_name: str = "scripted") -> None:
        self._replies = list(replies)
        self._next = 0
        super().__init__(self._play, model_name=model_name)

    def _play(self, request: ModelRequest) -> ModelReply:
        if self._next >= len(self._replies):
            raise ModelResponseError(f"ScriptedModel has no reply left for request {self._next + 1}")
        reply = self._replies[self._next]
        self._next += 1
        return reply

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been played yet."""
        return len(self._replies) - self._next
