"""Model providers: the :class:`Model` protocol and its implementations."""

from agentkit.models.abstract import (
    Model,
    ModelProfile,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ModelStreamEvent,
    RetryPolicy,
    ToolCallDelta,
    ToolDefinition,
)

__all__ = [
    "Model",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "RetryPolicy",
    "ToolCallDelta",
    "ToolDefinition",
]
