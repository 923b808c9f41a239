"""Model providers: the `Model` protocol and its implementations.

Importing this package loads only the contract ([`agentkit.models.abstract`][]); each provider
module, and the HTTP client libraries under it, is imported the first time one of its names is
used (``from agentkit.models import KimiModel`` does it; ``import agentkit`` does not).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from agentkit.models._kimi_account import (
        Balance,
        ModelInfo,
        estimate_token_count,
        get_balance,
        list_models,
        moonshot_counter,
    )
    from agentkit.models._ladder import MOONSHOT_V1_LADDER, ContextLadder, LadderTier
    from agentkit.models.anthropic_compat import AnthropicCompatModel
    from agentkit.models.kimi import (
        KIMI_K26_PROFILE,
        KIMI_PROFILE,
        KIMI_SELF_HOSTED_PROFILE,
        WEB_SEARCH,
        KimiAutoModel,
        KimiModel,
        self_hosted_kimi,
    )
    from agentkit.models.model_ladder import ModelLadder
    from agentkit.models.openai_compat import LLAMA_CPP_PROFILE, OpenAICompatModel
    from agentkit.models.replay import ReplayModel

#: Where each lazily loaded name lives.
_LAZY = {
    "Balance": "agentkit.models._kimi_account",
    "estimate_token_count": "agentkit.models._kimi_account",
    "get_balance": "agentkit.models._kimi_account",
    "moonshot_counter": "agentkit.models._kimi_account",
    "ModelInfo": "agentkit.models._kimi_account",
    "list_models": "agentkit.models._kimi_account",
    "KIMI_K26_PROFILE": "agentkit.models.kimi",
    "MOONSHOT_V1_LADDER": "agentkit.models._ladder",
    "ContextLadder": "agentkit.models._ladder",
    "LadderTier": "agentkit.models._ladder",
    "AnthropicCompatModel": "agentkit.models.anthropic_compat",
    "KIMI_PROFILE": "agentkit.models.kimi",
    "KIMI_SELF_HOSTED_PROFILE": "agentkit.models.kimi",
    "WEB_SEARCH": "agentkit.models.kimi",
    "KimiAutoModel": "agentkit.models.kimi",
    "KimiModel": "agentkit.models.kimi",
    "self_hosted_kimi": "agentkit.models.kimi",
    "ModelLadder": "agentkit.models.model_ladder",
    "LLAMA_CPP_PROFILE": "agentkit.models.openai_compat",
    "OpenAICompatModel": "agentkit.models.openai_compat",
    "ReplayModel": "agentkit.models.replay",
}

__all__ = [
    "KIMI_K26_PROFILE",
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
    "ModelInfo",
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
    "list_models",
    "moonshot_counter",
    "self_hosted_kimi",
]


def __getattr__(name: str) -> Any:
    """Load a provider's name on first use (and cache it here)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
