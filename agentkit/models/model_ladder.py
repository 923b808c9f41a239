"""ModelLadder: the smallest model whose context window fits, chosen per request, for any provider.

The client-side equivalent of ``moonshot-v1-auto``: each request goes to the first
tier whose window holds ``prompt tokens + max_tokens`` (the rule of
[`ContextLadder`][agentkit.models.ContextLadder], which this reuses), e.g. a cheap short-context
model first and a long-context one when the conversation grows. Tiers may be models
of different providers; the chosen one answers, names itself in
`ModelResponse.model_name` and prices the call in ``cost_usd``.

>>> import anyio
>>> from agentkit.messages import UserMessage
>>> from agentkit.models.function import ScriptedModel
>>> small = ScriptedModel(["short answer"], model_name="small-8k")
>>> big = ScriptedModel(["long answer"], model_name="big-128k")
>>> ladder = ModelLadder(tiers=[(small, 8_000), (big, 128_000)], default_max_tokens=1_000)
>>> anyio.run(ladder.complete, ModelRequest(messages=[UserMessage(content="Hi!")])).model_name
'small-8k'
>>> long_prompt = ModelRequest(messages=[UserMessage(content="word " * 20_000)])
>>> anyio.run(ladder.complete, long_prompt).model_name
'big-128k'
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Sequence

from agentkit._log import get_logger
from agentkit.models._ladder import ContextLadder, LadderTier
from agentkit.models.abstract import Model, ModelRequest, ModelResponse, ModelStreamEvent
from agentkit.tokens import TokenCounter, local_counter

__all__ = ["ModelLadder"]

_log = get_logger("agentkit.models")


def __getattr__(name: str) -> object:
    """``Counter`` was this module's name of `agentkit.tokens.TokenCounter`; it still works."""
    if name == "Counter":
        warnings.warn(
            "agentkit.models.model_ladder.Counter is deprecated: use agentkit.tokens.TokenCounter",
            DeprecationWarning,
            stacklevel=2,
        )
        return TokenCounter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ModelLadder:
    """A [`Model`][agentkit.models.abstract.Model] that sends each request to the smallest tier that fits.

    Args:
        tiers: ``(model, context_window)`` pairs, windows strictly growing.
        counter: counts a request's prompt tokens (default: the local estimate of
            [`agentkit.tokens.estimate_tokens`][]; pass
            ``kimi.token_counter()`` for Moonshot's count of a `KimiModel`).
        default_max_tokens: the answer budget assumed when a request does not set ``max_tokens``.

    When no tier fits, the largest answers (and its server reports the overflow):
    attach [`FitContext`][agentkit.memory.FitContext] with ``model=`` this ladder to compact
    the history first; its window is the largest tier's.

    Raises:
        UserError: no tiers, or windows not strictly growing.
    """

    def __init__(
        self,
        tiers: Sequence[tuple[Model, int]],
        *,
        counter: TokenCounter | None = None,
        default_max_tokens: int = 1024,
    ) -> None:
        self._models = [model for model, _ in tiers]
        # tier names are indexes into _models: two tiers may share a model name
        self._ladder = ContextLadder(
            tiers=tuple(LadderTier(model_name=str(i), context_window=w) for i, (_, w) in enumerate(tiers))
        )
        self._counter = counter or local_counter
        self.default_max_tokens = default_max_tokens

    @property
    def tiers(self) -> list[tuple[Model, int]]:
        """The ``(model, context_window)`` pairs, smallest first."""
        return [(m, t.context_window) for m, t in zip(self._models, self._ladder.tiers, strict=True)]

    @property
    def model_name(self) -> str:
        """The largest tier's model name (each response names the model that answered)."""
        return self._models[-1].model_name

    @property
    def context_window(self) -> int:
        """The largest tier's context window."""
        return self._ladder.largest.context_window

    async def choose(self, request: ModelRequest) -> Model:
        """Return the model of the smallest tier whose window holds the prompt plus ``max_tokens``."""
        prompt_tokens = await self._counter(request.messages, request.tools)
        max_tokens = request.settings.max_tokens or self.default_max_tokens
        index = int(self._ladder.choose(prompt_tokens=prompt_tokens, max_tokens=max_tokens))
        chosen = self._models[index]
        _log.debug(
            "model.ladder_choice", model=chosen.model_name, prompt_tokens=prompt_tokens, max_tokens=max_tokens
        )
        return chosen

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` to the chosen tier and return its answer."""
        return await (await self.choose(request)).complete(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream ``request`` from the chosen tier."""
        chosen = await self.choose(request)
        async for event in chosen.stream(request):
            yield event

    async def aclose(self) -> None:
        """Close every tier that can be closed (HTTP clients)."""
        for model in self._models:
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
