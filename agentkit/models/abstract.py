"""The Model protocol, the provider-neutral request/response types, and a provider's profile.

The protocol and the request/response types live in the bottom layer
([`agentkit.model_types`][]) and are re-exported here. A provider turns a
`ModelRequest` into its wire format, sends it, and turns the answer
into a `ModelResponse` (or a stream of events ending with one).
Everything a provider does differently is data in its `ModelProfile`,
read by the provider, never branched on by the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentkit.model_types import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ModelStreamEvent,
    ToolCallDelta,
    ToolChoice,
    ToolDefinition,
)
from agentkit.usage import ModelPrice

__all__ = [
    "Model",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "RetryPolicy",
    "ServerCapabilities",
    "ToolCallDelta",
    "ToolChoice",
    "ToolDefinition",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """When and how a provider retries a failed request.

    Statuses in ``retry_statuses`` are retried with exponential backoff and
    jitter (``base_delay_s * 2**attempt``, capped at ``max_delay_s``), unless
    the error type is in ``never_retry_error_types``. A server-stated wait
    (Retry-After, "try again after N seconds") is honoured up to ``max_delay_s``.
    """

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    retry_statuses: frozenset[int] = frozenset({408, 409, 429, 500, 502, 503, 504})
    never_retry_error_types: frozenset[str] = frozenset()
    retry_connection_errors: bool = True
    #: Retries stop once this many attempts in a row got the same 500 (same error type and
    #: message): a server that answers one request with one 500 twice fails deterministically
    #: (a request it cannot handle, such as a ``tool_choice`` it does not know), not by chance,
    #: so the rest of the budget is not spent on it. The openai SDK retries every 5xx, twice.
    max_identical_500s: int = 2
    #: How often an empty answer (no text, no reasoning, no tool calls) is asked for again before
    #: [`ModelEmptyResponseError`][agentkit.exceptions.ModelEmptyResponseError] is raised.
    empty_answer_retries: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerCapabilities:
    """What a Chat Completions server accepts beyond the common core, as data.

    The defaults are what every server we tested accepts (see ``docs/self-hosted.md``);
    `ModelProfile.supports_tool_choice_required` and
    `ModelProfile.supports_strict_schemas` complete the table.
    """

    #: Send ``content: null`` on assistant turns that carry tool calls. Off: ``""`` is sent,
    #: which every server tested accepts (llama-cpp-python's server answers null with a 500).
    null_content_with_tool_calls: bool = False
    #: Ask for usage in streams (``stream_options: {"include_usage": true}``). A server that
    #: sends no usage anyway gets estimated figures (see [`agentkit.usage.Usage.estimated_requests`][]).
    stream_usage: bool = True
    #: Sent as the ``parallel_tool_calls`` field when set; ``None`` leaves it out (the server's
    #: default, which for every server tested allows several calls in one answer).
    parallel_tool_calls: bool | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelProfile:
    """A provider's rules and quirks, as data.

    The provider reads these; the loop never branches on a provider name.
    """

    default_temperature: float | None = None
    default_max_tokens: int | None = None
    temperature_range: tuple[float, float] = (0.0, 2.0)
    supports_tool_choice_required: bool = True
    #: Appended as a user message when ``"required"`` must be emulated.
    tool_choice_required_nudge: str = "Please select a tool to handle the current issue."
    supports_strict_schemas: bool = True
    sanitize_schemas: bool = False
    send_reasoning_content: bool = False
    #: Recover tool calls left as raw ``<|tool_call_begin|>`` markup in the text (self-hosted Kimi-K2).
    recover_tool_call_markup: bool = False
    #: Decode tool-call arguments that arrive JSON-encoded twice (a JSON string holding the
    #: object), a known fault of some self-hosted engines. Off by default: elsewhere the tool
    #: layer reports such arguments to the model so it can fix them.
    decode_double_encoded_arguments: bool = False
    max_tools: int | None = None
    #: What the server accepts beyond the common core (null content, stream usage, parallel calls).
    capabilities: ServerCapabilities = field(default_factory=ServerCapabilities)
    context_windows: Mapping[str, int] = field(default_factory=dict)
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Request fields the server fixes (Kimi K2.5/K2.6: temperature, top_p, n and the
    #: penalties): none is sent, and a user setting one gets a `UserError`.
    fixed_params: frozenset[str] = frozenset()
    #: The body field that carries the output budget (``"max_completion_tokens"`` where
    #: ``max_tokens`` is deprecated).
    max_tokens_field: str = "max_tokens"
    #: The server takes ``{"thinking": {"type": "enabled" | "disabled"}}``.
    thinking_switch: bool = False
    #: The model reasons when nothing says otherwise (thinking models; K2.5/K2.6 by default).
    thinks_by_default: bool = False
    #: Appended as a user message when a named ``tool_choice`` must be emulated (``{name}``).
    tool_choice_named_nudge: str = "Please call the tool {name} to handle the current issue."
    #: User messages may carry images (``image_url`` content parts).
    vision: bool = False
    #: The largest image, in bytes, agentkit inlines as a data URL (``None``: no limit).
    max_image_bytes: int | None = None
    #: Model ids the server has retired, each with the id that replaces it.
    retired_models: Mapping[str, str] = field(default_factory=dict)
    #: Phrases (lower case) of a 400's error type or message that mean "the prompt does not fit the
    #: context window"; such an error is raised as `ContextOverflowError`. The default is the
    #: wording of OpenAI and vLLM ("This model's maximum context length is N tokens...").
    context_overflow_markers: tuple[str, ...] = ("maximum context length",)

    def is_context_overflow(self, status_code: int, error_type: str | None, message: str) -> bool:
        """Whether an error answer says the request did not fit the context window."""
        if status_code != 400:
            return False
        text = f"{error_type or ''} {message}".lower()
        return any(marker in text for marker in self.context_overflow_markers)
