"""Kimi-K2 (Moonshot AI): the rules of its OpenAI-compatible API as a profile, and the model.

The facts come from Moonshot's platform docs (see ``KIMI.md`` in the design notes): temperature in
[0, 1] (0.6 recommended, 1.0 for thinking models), an explicit ``max_tokens`` (the server default
is about 1024), no ``tool_choice="required"``, no strict schemas, at most 128 tools,
``reasoning_content`` sent back, and which errors are worth retrying.

``default_max_tokens`` is 4096: far above the server's ~1024 (which cuts long answers and
multi-call turns) while keeping rate-limit accounting (prompt + max_tokens) modest. Thinking
models get 16384, above the 16,000 Moonshot asks for.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Final

import httpx2
import openai

from agentkit.exceptions import UserError
from agentkit.models.abstract import ModelProfile, ModelSettings, RetryPolicy
from agentkit.models.openai_compat import OpenAICompatModel
from agentkit.usage import PRICES

__all__ = [
    "DEFAULT_KIMI_MODEL",
    "KIMI_BASE_URL",
    "KIMI_PROFILE",
    "KIMI_THINKING_PROFILE",
    "KimiModel",
    "kimi_profile_for",
]

#: Used when no model name is given and ``MOONSHOT_MODEL`` is unset. Moonshot retires ids over
#: time: pass a name or set ``MOONSHOT_MODEL`` rather than relying on this.
DEFAULT_KIMI_MODEL: Final = "kimi-k2-0905-preview"
#: The international endpoint (``https://api.moonshot.cn/v1`` is the China one; keys differ).
KIMI_BASE_URL: Final = "https://api.moonshot.ai/v1"

_CONTEXT_WINDOWS: Final = {
    "kimi-k2-0711-preview": 131_072,
    "kimi-k2-0905-preview": 262_144,
    "kimi-k2-turbo-preview": 262_144,
    "kimi-k2-thinking": 262_144,
    "kimi-k2-thinking-turbo": 262_144,
    "moonshot-v1-8k": 8_192,
    "moonshot-v1-32k": 32_768,
    "moonshot-v1-128k": 131_072,
    "moonshot-v1-auto": 131_072,
}

#: Moonshot's retry rules: 429 rate-limit / overload and 5xx are retried; billing (quota),
#: content-filter and request errors never are.
KIMI_RETRY_POLICY: Final = RetryPolicy(
    max_retries=4,
    base_delay_s=1.0,
    max_delay_s=60.0,
    retry_statuses=frozenset({429, 500, 502, 503, 504}),
    never_retry_error_types=frozenset(
        {
            "exceeded_current_quota_error",
            "content_filter",
            "invalid_request_error",
            "invalid_authentication_error",
            "incorrect_api_key_error",
            "permission_denied_error",
            "resource_not_found_error",
        }
    ),
)

#: Kimi-K2's rules as data (non-thinking models).
KIMI_PROFILE: Final = ModelProfile(
    default_temperature=0.6,
    default_max_tokens=4096,
    temperature_range=(0.0, 1.0),
    supports_tool_choice_required=False,
    tool_choice_required_nudge="Please select a tool to handle the current issue.",
    supports_strict_schemas=False,
    sanitize_schemas=True,
    send_reasoning_content=True,
    recover_tool_call_markup=True,
    max_tools=128,
    context_windows=_CONTEXT_WINDOWS,
    prices=PRICES,
    retry=KIMI_RETRY_POLICY,
)

#: The same rules with thinking-model defaults: temperature 1.0 and a 16384-token budget.
KIMI_THINKING_PROFILE: Final = replace(KIMI_PROFILE, default_temperature=1.0, default_max_tokens=16_384)


def kimi_profile_for(model_name: str) -> ModelProfile:
    """Return :data:`KIMI_THINKING_PROFILE` for thinking models, else :data:`KIMI_PROFILE`."""
    return KIMI_THINKING_PROFILE if "thinking" in model_name else KIMI_PROFILE


class KimiModel(OpenAICompatModel):
    """Kimi-K2 through Moonshot's OpenAI-compatible API (or vLLM/SGLang serving K2).

    The key comes from ``api_key`` or ``MOONSHOT_API_KEY``; the endpoint from ``base_url``,
    ``MOONSHOT_BASE_URL`` or :data:`KIMI_BASE_URL`; the model name from ``model_name``,
    ``MOONSHOT_MODEL`` or :data:`DEFAULT_KIMI_MODEL`. With the default ``profile``, thinking
    models (name containing ``"thinking"``) get :data:`KIMI_THINKING_PROFILE`.

    Raises:
        UserError: no key was given and ``MOONSHOT_API_KEY`` is unset.

    """

    def __init__(
        self,
        model_name: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        profile: ModelProfile = KIMI_PROFILE,
        http_client: httpx2.AsyncClient | None = None,
        openai_client: openai.AsyncOpenAI | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        name = model_name or os.environ.get("MOONSHOT_MODEL") or DEFAULT_KIMI_MODEL
        key = api_key or os.environ.get("MOONSHOT_API_KEY")
        if not key and openai_client is None:
            raise UserError("no Kimi API key: set the MOONSHOT_API_KEY environment variable or pass api_key=")
        super().__init__(
            name,
            base_url=base_url or os.environ.get("MOONSHOT_BASE_URL") or KIMI_BASE_URL,
            api_key=key,
            profile=kimi_profile_for(name) if profile is KIMI_PROFILE else profile,
            http_client=http_client,
            openai_client=openai_client,
            settings=settings,
        )

    @property
    def context_window(self) -> int | None:
        """The model's context window in tokens, when the profile knows it."""
        return self.profile.context_windows.get(self.model_name)
