"""Automatic model choice by context size: a ladder of models with growing context windows.

Moonshot's ``moonshot-v1-auto`` picks the 8k, 32k or 128k model by ``prompt tokens +
max_tokens``: the smallest model whose window holds both. `ContextLadder` is that rule
for any list of models; [`KimiAutoModel`][agentkit.models.kimi.KimiAutoModel] applies it per request.

>>> MOONSHOT_V1_LADDER.choose(prompt_tokens=3_000, max_tokens=4_096)
'moonshot-v1-8k'
>>> MOONSHOT_V1_LADDER.choose(prompt_tokens=5_000, max_tokens=4_096)
'moonshot-v1-32k'
>>> MOONSHOT_V1_LADDER.choose(prompt_tokens=500_000, max_tokens=4_096)
'moonshot-v1-128k'
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from agentkit.exceptions import UserError

__all__ = ["MOONSHOT_V1_LADDER", "ContextLadder", "LadderTier"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LadderTier:
    """One rung: a model and its context window in tokens."""

    model_name: str
    context_window: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ContextLadder:
    """Models ordered by context window; `choose` picks the smallest that fits.

    Raises:
        UserError: no tiers, or windows not strictly growing.

    """

    tiers: tuple[LadderTier, ...]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise UserError("a ContextLadder needs at least one tier")
        windows = [t.context_window for t in self.tiers]
        if any(a >= b for a, b in itertools.pairwise(windows)):
            raise UserError(f"ladder tiers must have strictly growing context windows, got {windows}")

    @property
    def largest(self) -> LadderTier:
        """The tier with the biggest window."""
        return self.tiers[-1]

    def choose(self, *, prompt_tokens: int, max_tokens: int) -> str:
        """Return the smallest model with ``prompt_tokens + max_tokens <= context_window``.

        When nothing is big enough, the largest model is returned (its server reports the
        overflow, and a context policy can fit the history first).
        """
        needed = prompt_tokens + max_tokens
        for tier in self.tiers:
            if needed <= tier.context_window:
                return tier.model_name
        return self.largest.model_name


#: ``moonshot-v1-auto``'s rule: <= 8k -> 8k model, <= 32k -> 32k, else 128k.
MOONSHOT_V1_LADDER = ContextLadder(
    tiers=(
        LadderTier(model_name="moonshot-v1-8k", context_window=8_192),
        LadderTier(model_name="moonshot-v1-32k", context_window=32_768),
        LadderTier(model_name="moonshot-v1-128k", context_window=131_072),
    )
)
