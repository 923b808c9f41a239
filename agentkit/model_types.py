"""The model contract: the Model protocol and the provider-neutral request/response types.

A bottom-layer module (it imports only [`agentkit.messages`][] and [`agentkit.usage`][]), so
tools, hooks, memory and tracing can name a `ModelRequest` or a `ToolDefinition`
without importing any provider. [`agentkit.models.abstract`][] re-exports everything here, next
to the provider configuration ([`ModelProfile`][agentkit.models.abstract.ModelProfile]).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from agentkit.events import ReasoningDelta, TextDelta
from agentkit.messages import AssistantMessage, Message
from agentkit.usage import Usage

__all__ = [
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "ToolCallDelta",
    "ToolChoice",
    "ToolDefinition",
]

#: ``"auto"``, ``"none"``, ``"required"``, or the name of one tool.
ToolChoice: TypeAlias = str


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolDefinition:
    """A tool as the model sees it: name, description and JSON-schema parameters.

    ``kind="builtin_function"`` declares a server-side tool (Kimi's ``$web_search``).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    kind: Literal["function", "builtin_function"] = "function"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelSettings:
    """Sampling settings; ``None`` means "use the profile default".

    ``extra_body`` is merged into the request body as is, for provider fields
    agentkit does not name. ``thinking`` switches a model's reasoning on or off where the
    profile has a thinking switch (Kimi K2.5/K2.6: ``{"thinking": {"type": ...}}``).
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    thinking: bool | None = None

    def merged(self, override: ModelSettings | None) -> ModelSettings:
        """Return these settings with every field ``override`` sets replacing ours."""
        if override is None:
            return self
        return ModelSettings(
            temperature=override.temperature if override.temperature is not None else self.temperature,
            max_tokens=override.max_tokens if override.max_tokens is not None else self.max_tokens,
            top_p=override.top_p if override.top_p is not None else self.top_p,
            stop=override.stop if override.stop is not None else self.stop,
            seed=override.seed if override.seed is not None else self.seed,
            extra_body={**self.extra_body, **override.extra_body},
            thinking=override.thinking if override.thinking is not None else self.thinking,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelRequest:
    """One call to the model."""

    messages: Sequence[Message]
    tools: Sequence[ToolDefinition] = ()
    tool_choice: ToolChoice | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)
    response_format: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelResponse:
    """The model's answer.

    ``raw`` is the decoded wire body (for traces and replay) and
    ``wire_request`` the body that was sent (no headers, so no keys);
    ``cost_usd`` is priced by the provider, which knows which model actually
    answered; ``retries`` counts the failed attempts (429s, 5xx, dropped connections)
    the provider retried before this answer.
    """

    message: AssistantMessage
    finish_reason: str | None
    usage: Usage
    model_name: str
    cost_usd: float = 0.0
    request_id: str | None = None
    raw: Mapping[str, Any] | None = None
    wire_request: Mapping[str, Any] | None = None
    retries: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCallDelta:
    """A streamed fragment of tool call number ``index`` (id and name come first)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


#: What `Model.stream` yields; the last item is always the `ModelResponse`.
ModelStreamEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallDelta | ModelResponse


@runtime_checkable
class Model(Protocol):
    """What the loop needs from a model provider."""

    @property
    def model_name(self) -> str:
        """The model's name, as sent on the wire."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole answer."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Send ``request`` and yield deltas as they arrive, then the `ModelResponse`."""
        ...
