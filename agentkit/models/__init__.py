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
from agentkit.models.kimi import KIMI_PROFILE, KimiModel
from agentkit.models.openai_compat import OpenAICompatModel

__all__ = [
    "KIMI_PROFILE",
    "KimiModel",
    "Model",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "OpenAICompatModel",
    "RetryPolicy",
    "ToolCallDelta",
    "ToolDefinition",
]
