"""Model providers: the :class:`Model` protocol and its implementations."""

from typing import TYPE_CHECKING, Any

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
    ServerCapabilities,
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
from agentkit.models.model_ladder import ModelLadder
from agentkit.models.openai_compat import LLAMA_CPP_PROFILE, OpenAICompatModel

__all__ = [
    "KIMI_PROFILE",
    "KIMI_SELF_HOSTED_PROFILE",
    "LLAMA_CPP_PROFILE",
    "MOONSHOT_V1_LADDER",
    "WEB_SEARCH",
    "AnthropicCompatModel",
    "Balance",
    "ContextLadder",
    "KimiAutoModel",
    "KimiModel",
    "LadderTier",
    "Model",
    "ModelLadder",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "OpenAICompatModel",
    "ReplayModel",
    "RetryPolicy",
    "ServerCapabilities",
    "ToolCallDelta",
    "ToolDefinition",
    "estimate_token_count",
    "get_balance",
    "self_hosted_kimi",
]


if TYPE_CHECKING:
    from agentkit.models.replay import ReplayModel


def __getattr__(name: str) -> Any:
    # ReplayModel loads on first use: it pulls in tracing and tools, which import this package.
    if name == "ReplayModel":
        from agentkit.models.replay import ReplayModel  # noqa: PLC0415 - see above

        return ReplayModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
