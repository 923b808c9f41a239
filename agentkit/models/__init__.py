"""Model providers: the :class:`Model` protocol and its implementations."""

from agentkit.models._kimi_account import Balance, estimate_token_count, get_balance
from agentkit.models._ladder import MOONSHOT_V1_LADDER, ContextLadder, LadderTier
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
from agentkit.models.anthropic_compat import AnthropicCompatModel
from agentkit.models.kimi import (
    KIMI_PROFILE,
    KIMI_SELF_HOSTED_PROFILE,
    WEB_SEARCH,
    KimiAutoModel,
    KimiModel,
    self_hosted_kimi,
)
from agentkit.models.openai_compat import OpenAICompatModel
from agentkit.models.replay import ReplayModel

__all__ = [
    "KIMI_PROFILE",
    "KIMI_SELF_HOSTED_PROFILE",
    "MOONSHOT_V1_LADDER",
    "WEB_SEARCH",
    "AnthropicCompatModel",
    "Balance",
    "ContextLadder",
    "KimiAutoModel",
    "KimiModel",
    "LadderTier",
    "Model",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "OpenAICompatModel",
    "ReplayModel",
    "RetryPolicy",
    "ToolCallDelta",
    "ToolDefinition",
    "estimate_token_count",
    "get_balance",
    "self_hosted_kimi",
]
