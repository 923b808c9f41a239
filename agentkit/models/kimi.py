"""Kimi-K2 (Moonshot AI): the rules of its OpenAI-compatible API as a profile, and the model.

The facts come from Moonshot's platform docs (see ``docs/kimi.md`` for the sources and the date
they were checked). Models are data, per family:

- ``kimi-k2.6`` / ``kimi-k2.5`` (`KIMI_K26_PROFILE`): temperature, top_p, n and the
  penalties are fixed by the server and never sent (setting one is a `UserError`), the
  budget goes in ``max_completion_tokens``, thinking is on unless ``thinking=False`` sends
  ``{"thinking": {"type": "disabled"}}``, and user messages may carry images.
- the 2025 K2 ids and ``moonshot-v1-*`` (`KIMI_PROFILE`): temperature in [0, 1] (0.6),
  an explicit ``max_tokens``; ``kimi-k2-thinking*`` get `KIMI_THINKING_PROFILE`.

All of them: no ``tool_choice="required"``, no strict schemas, at most 128 tools,
``reasoning_content`` sent back, and the same retry table.

``default_max_tokens`` is 4096 for the older ids: far above the server's ~1024 (which cuts long
answers and multi-call turns) while keeping rate-limit accounting (prompt + max_tokens) modest.
Thinking models get 16384 (Moonshot asks for at least 16,000); K2.5/K2.6, which think by
default, 32768 (the budget Moonshot's own thinking examples use).
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import httpx2
import orjson

from agentkit._log import get_logger
from agentkit.exceptions import UserError
from agentkit.models._kimi_account import estimate_token_count, moonshot_counter
from agentkit.models._ladder import MOONSHOT_V1_LADDER, ContextLadder
from agentkit.models._openai_wire import WireRequest
from agentkit.models.abstract import ModelProfile, ModelRequest, ModelSettings, RetryPolicy, ToolDefinition
from agentkit.models.openai_compat import OpenAICompatModel

# TokenCounter here is a deprecated name of another type (see __getattr__ below)
from agentkit.tokens import TokenCounter as _TokenCounter
from agentkit.tokens import text_tokens
from agentkit.usage import PRICES

if TYPE_CHECKING:
    import openai

__all__ = [
    "DEFAULT_KIMI_MODEL",
    "KIMI_BASE_URL",
    "KIMI_K26_PROFILE",
    "KIMI_PROFILE",
    "KIMI_RETIRED_MODELS",
    "KIMI_SELF_HOSTED_PROFILE",
    "KIMI_THINKING_PROFILE",
    "WEB_SEARCH",
    "KimiAutoModel",
    "KimiModel",
    "kimi_profile_for",
    "self_hosted_kimi",
]

_log = get_logger("agentkit.models")

#: The name of Kimi's builtin web search (``KimiModel(..., builtin_tools=[WEB_SEARCH])``).
WEB_SEARCH: Final = "$web_search"
#: A counter of a whole request body: what ``KimiAutoModel(count_tokens=)`` took before it took a
#: `TokenCounter` like every counter (still accepted, with a DeprecationWarning).
_BodyCounter = Callable[[Mapping[str, Any]], Awaitable[int]]

#: Used when no model name is given and ``MOONSHOT_MODEL`` is unset (the model Moonshot's
#: quickstart uses). Moonshot retires ids over time: set ``MOONSHOT_MODEL`` to move on.
DEFAULT_KIMI_MODEL: Final = "kimi-k2.6"
#: The international endpoint (``https://api.moonshot.cn/v1`` is the China one; keys differ).
KIMI_BASE_URL: Final = "https://api.moonshot.ai/v1"

_CONTEXT_WINDOWS: Final = {
    "kimi-k2.6": 262_144,
    "kimi-k2.5": 262_144,
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

#: Ids reported retired (404 ``resource_not_found_error``), each with the id that replaces it.
#: A 404 for one of them raises [`ModelRetiredError`][agentkit.exceptions.ModelRetiredError] naming it.
KIMI_RETIRED_MODELS: Final = {
    "kimi-k2-0711-preview": "kimi-k2.6",
    "kimi-k2-0905-preview": "kimi-k2.6",
    "kimi-k2-turbo-preview": "kimi-k2.6",
    "kimi-k2-thinking": "kimi-k2.6",
    "kimi-k2-thinking-turbo": "kimi-k2.6",
    "kimi-latest": "kimi-k2.6",
}

#: Kimi-K2's rules as data (the 2025 K2 ids and moonshot-v1; non-thinking).
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
    retired_models=KIMI_RETIRED_MODELS,
    # "Invalid request: Your request exceeded model token limit: 8192" (a 400); vLLM serving K2
    # says OpenAI's "maximum context length".
    context_overflow_markers=("exceeded model token limit", "maximum context length"),
)

#: The same rules with thinking-model defaults: temperature 1.0 and a 16384-token budget.
KIMI_THINKING_PROFILE: Final = replace(
    KIMI_PROFILE, default_temperature=1.0, default_max_tokens=16_384, thinks_by_default=True
)

#: The sampling fields kimi-k2.5 / kimi-k2.6 fix ("cannot be modified" in the parameter reference).
_K26_FIXED: Final = frozenset({"temperature", "top_p", "n", "presence_penalty", "frequency_penalty"})

#: kimi-k2.6 and kimi-k2.5: fixed sampling (nothing sent, a user override is a ``UserError``),
#: ``max_completion_tokens``, a thinking switch (on by default), images in user messages
#: (inlined up to 10 MiB each: agentkit's own cap, Moonshot publishes none).
KIMI_K26_PROFILE: Final = replace(
    KIMI_PROFILE,
    default_temperature=None,
    default_max_tokens=32_768,
    fixed_params=_K26_FIXED,
    max_tokens_field="max_completion_tokens",
    thinking_switch=True,
    thinks_by_default=True,
    vision=True,
    max_image_bytes=10 * 1024 * 1024,
)

#: Which profile a model id gets, by id prefix (first match wins); others get KIMI_PROFILE.
_FAMILIES: Final[tuple[tuple[str, ModelProfile], ...]] = (
    ("kimi-k2.6", KIMI_K26_PROFILE),
    ("kimi-k2.5", KIMI_K26_PROFILE),
)


#: Kimi-K2 served by vLLM / SGLang (``--tool-call-parser kimi_k2``): Kimi's request rules, plus
#: repairs for what those engines get wrong (raw markup, arguments encoded twice), no prices
#: (your hardware, your cost) and a generic retry policy (their errors are not Moonshot's).
KIMI_SELF_HOSTED_PROFILE: Final = replace(
    KIMI_PROFILE, decode_double_encoded_arguments=True, prices={}, retry=RetryPolicy()
)


def kimi_profile_for(model_name: str, base: ModelProfile = KIMI_PROFILE) -> ModelProfile:
    """Return the profile for ``model_name``: its family's for Moonshot's API, else ``base``.

    With ``base`` `KIMI_PROFILE`, ``kimi-k2.6``/``kimi-k2.5`` get `KIMI_K26_PROFILE`;
    a thinking model (name containing ``thinking``) gets thinking defaults (temperature 1.0,
    16384 tokens) on any ``base``.
    """
    name = model_name.lower()
    if base is KIMI_PROFILE:
        for prefix, profile in _FAMILIES:
            if name.startswith(prefix):
                return profile
    if "thinking" not in name:
        return base
    if base is KIMI_PROFILE:
        return KIMI_THINKING_PROFILE
    return replace(
        base,
        default_temperature=1.0,
        default_max_tokens=max(base.default_max_tokens or 0, 16_384),
        thinks_by_default=True,
    )


class KimiModel(OpenAICompatModel):
    """Kimi-K2 through Moonshot's OpenAI-compatible API (or vLLM/SGLang serving K2).

    The key comes from ``api_key`` or ``MOONSHOT_API_KEY``; the endpoint from ``base_url``,
    ``MOONSHOT_BASE_URL`` or `KIMI_BASE_URL`; the model name from ``model_name``,
    ``MOONSHOT_MODEL`` or `DEFAULT_KIMI_MODEL`. With the default ``profile``, thinking
    models (name containing ``"thinking"``) get `KIMI_THINKING_PROFILE`.

    ``thinking`` switches reasoning on or off for every request of a model with a thinking
    switch (``kimi-k2.6``/``kimi-k2.5``; ``None`` leaves the server default, which is on);
    ``ModelSettings(thinking=...)`` does the same per run.

    ``builtin_tools`` (e.g. ``[WEB_SEARCH]``) are declared to the server as ``builtin_function``
    on every request; when the model calls one, the loop answers with the call's arguments
    unchanged and the server does the work. Each ``$web_search`` call adds its per-call price
    to the run's cost; the search results come back as prompt tokens of the next request.
    With ``$web_search`` declared, a model with a thinking switch gets thinking disabled on
    every request (unless thinking was asked for explicitly, which is a ``UserError``).

    Raises:
        UserError: no key was given and ``MOONSHOT_API_KEY`` is unset, a builtin tool name
            does not start with ``$``, or ``thinking`` is set for a model without a switch.

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
        builtin_tools: Iterable[str] = (),
        thinking: bool | None = None,
    ) -> None:
        name = model_name or os.environ.get("MOONSHOT_MODEL") or DEFAULT_KIMI_MODEL
        key = api_key or os.environ.get("MOONSHOT_API_KEY")
        # A model built without a key (a module-level agent imported before the key is set, a
        # CLI pointing it elsewhere with --base-url) fails on its first request, not on import.
        missing = not key and openai_client is None
        self._builtin_tools = tuple(_builtin(t) for t in builtin_tools)
        chosen = kimi_profile_for(name) if profile is KIMI_PROFILE else profile
        if thinking is not None:
            if not chosen.thinking_switch:
                raise UserError(f"{name} has no thinking switch: leave thinking= unset for it")
            settings = (settings or ModelSettings()).merged(ModelSettings(thinking=thinking))
        super().__init__(
            name,
            base_url=base_url or os.environ.get("MOONSHOT_BASE_URL") or KIMI_BASE_URL,
            api_key=key or "missing-key",  # never sent: the first request raises instead
            profile=chosen,
            http_client=http_client,
            openai_client=openai_client,
            settings=settings,
        )
        if missing:
            self._missing_key = UserError(
                "no Kimi API key: set the MOONSHOT_API_KEY environment variable or pass api_key="
            )

    @property
    def context_window(self) -> int | None:
        """The model's context window in tokens, when the profile knows it."""
        return self.profile.context_windows.get(self.model_name)

    @property
    def builtin_tools(self) -> tuple[ToolDefinition, ...]:
        """The server-side tools declared on every request."""
        return self._builtin_tools

    def token_counter(self) -> _TokenCounter:
        """Moonshot's own count of this model's prompts (one request to the estimate endpoint a count).

        This makes a `KimiModel` an `agentkit.tokens.CountsTokens`, so
        ``agentkit.tokens.counter_for(model)`` finds it; see `moonshot_counter`.
        """
        return moonshot_counter(self)

    def build_body(self, request: ModelRequest, *, stream: bool) -> WireRequest:
        """Return the wire body, with the builtin tools declared after the request's own.

        Raises:
            UserError: ``$web_search`` is declared and thinking was asked for explicitly.

        """
        if self._builtin_tools:
            have = {t.name for t in request.tools}
            extra = tuple(t for t in self._builtin_tools if t.name not in have)
            request = replace(request, tools=(*request.tools, *extra))
            if any(t.name == WEB_SEARCH for t in self._builtin_tools) and self.profile.thinking_switch:
                request = self._without_thinking(request)
        return super().build_body(request, stream=stream)

    def _without_thinking(self, request: ModelRequest) -> ModelRequest:
        wanted = (self._settings or ModelSettings()).merged(request.settings).thinking
        if wanted:
            raise UserError(
                f"{WEB_SEARCH} runs with thinking disabled on {self.model_name}: "
                "drop thinking=True or the builtin web search"
            )
        return replace(request, settings=replace(request.settings, thinking=False))

    @classmethod
    def auto(
        cls,
        ladder: ContextLadder = MOONSHOT_V1_LADDER,
        *,
        count_tokens: _TokenCounter | _BodyCounter | None = None,
        **kwargs: Any,
    ) -> KimiAutoModel:
        """Return a model that picks a rung of ``ladder`` per request (``moonshot-v1-auto``'s rule).

        Other keyword arguments are those of `KimiModel` (without ``model_name``).
        """
        return KimiAutoModel(ladder, count_tokens=count_tokens, **kwargs)


def _builtin(name: str) -> ToolDefinition:
    if not name.startswith("$"):
        raise UserError(f"builtin tool names start with '$' (e.g. {WEB_SEARCH!r}), got {name!r}")
    return ToolDefinition(name=name, description="", parameters={}, kind="builtin_function")


class KimiAutoModel(KimiModel):
    """Chooses among a ladder of models per request by ``prompt tokens + max_tokens``.

    The prompt is counted by ``count_tokens``, a [`TokenCounter`][agentkit.tokens.TokenCounter]
    (the request's messages and tools in, tokens out); by default by Moonshot's
    ``/tokenizers/estimate-token-count`` endpoint (the messages sent), plus the local estimate
    of [`agentkit.tokens`][] for the tool schemas, which that endpoint does not take. A counter
    of the whole request body (``count(body)``, the earlier form) still works, with a
    ``DeprecationWarning``. The answer is billed at the chosen model's price, and
    `ModelResponse.model_name` names it. `context_window` is the largest rung's, for context
    policies that fit the history.
    """

    def __init__(
        self,
        ladder: ContextLadder = MOONSHOT_V1_LADDER,
        *,
        count_tokens: _TokenCounter | _BodyCounter | None = None,
        **kwargs: Any,
    ) -> None:
        if "model_name" in kwargs:
            raise UserError("KimiAutoModel chooses the model from its ladder: pass ladder=, not model_name=")
        super().__init__(ladder.largest.model_name, **kwargs)
        self._ladder = ladder
        self._count_tokens: _TokenCounter | None = None
        self._count_body: _BodyCounter | None = None
        if count_tokens is not None and _counts_bodies(count_tokens):
            warnings.warn(
                "KimiAutoModel(count_tokens=) takes a TokenCounter, count(messages, tools), like every "
                "counter (agentkit.tokens); a counter of the request body is deprecated",
                DeprecationWarning,
                stacklevel=2,
            )
            self._count_body = count_tokens  # type: ignore[assignment]  # checked by _counts_bodies
        else:
            self._count_tokens = count_tokens  # type: ignore[assignment]  # the other member of the union

    @property
    def ladder(self) -> ContextLadder:
        """The models this one chooses among."""
        return self._ladder

    @property
    def context_window(self) -> int | None:
        """The largest rung's context window."""
        return self._ladder.largest.context_window

    async def choose_model(self, body: Mapping[str, Any], request: ModelRequest | None = None) -> str:
        """Return the smallest rung whose window holds the prompt plus ``max_tokens``."""
        if self._count_body is not None:
            prompt_tokens = await self._count_body(body)
        elif self._count_tokens is not None and request is not None:
            prompt_tokens = await self._count_tokens(request.messages, request.tools)
        else:
            prompt_tokens = await self._server_count(body)
        max_tokens = int(body.get("max_tokens") or 0)
        chosen = self._ladder.choose(prompt_tokens=prompt_tokens, max_tokens=max_tokens)
        _log.debug("model.auto_choice", model=chosen, prompt_tokens=prompt_tokens, max_tokens=max_tokens)
        return chosen

    async def _server_count(self, body: Mapping[str, Any]) -> int:
        total = await estimate_token_count(self, body["messages"], model_name=body["model"])
        tools = body.get("tools")
        return total + (text_tokens(orjson.dumps(list(tools)).decode()) if tools else 0)


def _counts_bodies(counter: object) -> bool:
    """Whether ``counter`` takes one argument (a request body), the deprecated counter form."""
    try:
        parameters = inspect.signature(counter).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) == 1 and not any(p.kind is p.VAR_POSITIONAL for p in parameters)


def __getattr__(name: str) -> object:
    """``TokenCounter`` here was a counter of request bodies; counters are `agentkit.tokens.TokenCounter`."""
    if name == "TokenCounter":
        warnings.warn(
            "agentkit.models.kimi.TokenCounter is deprecated: counters take (messages, tools), see "
            "agentkit.tokens.TokenCounter",
            DeprecationWarning,
            stacklevel=2,
        )
        return _BodyCounter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def self_hosted_kimi(
    base_url: str,
    model_name: str = "moonshotai/Kimi-K2-Instruct",
    *,
    api_key: str | None = None,
    http_client: httpx2.AsyncClient | None = None,
    settings: ModelSettings | None = None,
) -> OpenAICompatModel:
    """Return a model for Kimi-K2 served by vLLM or SGLang at ``base_url`` (e.g. ``http://gpu:8000/v1``).

    It uses `KIMI_SELF_HOSTED_PROFILE` (thinking defaults for a thinking model's name);
    ``model_name`` is the name the server was started with (``--served-model-name``).
    """
    return OpenAICompatModel(
        model_name,
        base_url=base_url,
        api_key=api_key or "not-needed",
        profile=kimi_profile_for(model_name, KIMI_SELF_HOSTED_PROFILE),
        http_client=http_client,
        settings=settings,
    )
