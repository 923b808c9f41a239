"""Fitting a conversation into the model's context window.

`estimate_tokens` is a fast local estimate (from [`agentkit.tokens`][]);
a model's own counter (``counter=kimi.token_counter()``, or
[`agentkit.models.moonshot_counter`][]) asks Moonshot's
``/tokenizers/estimate-token-count`` endpoint instead (opt-in: one
extra request per model call). `FitContext` is a hook: before each
model call it counts the request, and when ``prompt + max_tokens`` would pass
``threshold`` of the window it compacts the older turns, by dropping them
(`DropOldest`) or by having a model summarise them (`Summarize`).
The system instructions, the latest user message and everything after it are
always kept, and a tool call is never separated from its results. Only the
request changes: the stored session keeps every raw turn. In a run on a stored
session, a summary is also stored in the session (see
[`SummaryMemory`][agentkit.memory.abstract.SummaryMemory]), so later runs start from it
instead of summarising again. A
[`ContextOverflowError`][agentkit.exceptions.ContextOverflowError] (the provider read the
server's 400 as "the prompt does not fit", by its profile) triggers one more compaction and one
retry.

>>> from agentkit.messages import UserMessage
>>> estimate_tokens([UserMessage(content="Hello, how are you today?")])
12
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import orjson

from agentkit._log import get_logger
from agentkit.exceptions import ContextOverflowError, UserError
from agentkit.hooks import RunHooks, RunInfo
from agentkit.memory._session_hook import SUMMARY_PREFIX
from agentkit.messages import (
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
    message_to_dict,
)
from agentkit.model_types import Model, ModelRequest, ModelSettings
from agentkit.tokens import (
    CountsTokens,
    TokenCounter,
    estimate_tokens,
    local_counter,
    message_tokens,
    text_tokens,
)

__all__ = [
    "SUMMARY_PREFIX",
    "Compaction",
    "DropOldest",
    "FitContext",
    "Summarize",
    "TokenCounter",
    "estimate_tokens",
    "local_counter",
    "text_tokens",
]

_log = get_logger("agentkit.memory")


class Compaction(Protocol):
    """What replaces the older turns that no longer fit."""

    async def compact(self, older: Sequence[Message], info: RunInfo) -> list[Message]:
        """Return the messages to send in place of ``older`` (whole turns, oldest first)."""
        ...


class DropOldest:
    """Drop the older turns: nothing replaces them."""

    async def compact(self, older: Sequence[Message], info: RunInfo) -> list[Message]:
        """Return no messages."""
        return []


SUMMARY_INSTRUCTIONS = (
    "Summarise the conversation below for the assistant that will continue it. Keep every fact, "
    "decision, name, number, tool result and open question that may matter later; drop pleasantries. "
    "Write plain prose, at most 300 words."
)


class Summarize:
    """Replace the older turns with a summary written by ``model`` (cached, so written once).

    Args:
        model: the model that writes summaries (a cheap one will do).
        max_tokens: the summary's budget.
    """

    def __init__(self, model: Model, *, max_tokens: int = 1024) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._cache: dict[str, str] = {}

    async def compact(self, older: Sequence[Message], info: RunInfo) -> list[Message]:
        """Return one user message holding the summary of ``older``."""
        transcript = "\n".join(orjson.dumps(message_to_dict(m)).decode() for m in older)
        key = hashlib.blake2b(transcript.encode(), digest_size=16).hexdigest()
        summary = self._cache.get(key)
        if summary is None:
            request = ModelRequest(
                messages=(SystemMessage(content=SUMMARY_INSTRUCTIONS), UserMessage(content=transcript)),
                settings=ModelSettings(max_tokens=self.max_tokens),
            )
            response = await self.model.complete(request)
            summary = response.message.content or ""
            self._cache[key] = summary
            _log.info(
                "context_summarised", run_id=info.run_id, messages=len(older), summary_chars=len(summary)
            )
        return [UserMessage(content=SUMMARY_PREFIX + summary)]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Split:
    head: list[Message]  # leading system messages
    units: list[list[Message]]  # older turns, each droppable as a whole
    tail: list[Message]  # the latest user message and everything after it


def _split(messages: Sequence[Message]) -> _Split:
    start = 0
    while start < len(messages) and isinstance(messages[start], SystemMessage):
        start += 1
    last_user = max(
        (i for i in range(start, len(messages)) if isinstance(messages[i], UserMessage)), default=start
    )
    units: list[list[Message]] = []
    for message in messages[start:last_user]:
        if isinstance(message, ToolMessage) and units:
            units[-1].append(message)  # results stay with the call that asked for them
        else:
            units.append([message])
    return _Split(head=list(messages[:start]), units=units, tail=list(messages[last_user:]))


class FitContext(RunHooks):
    """Keep each request within ``threshold`` of the context window (attach with ``Agent(hooks=[...])``).

    Args:
        window: the context window in tokens; by default the model's ``context_window``.
        model: the model whose window applies (used when ``window`` is not given).
        threshold: the fraction of the window that ``prompt + max_tokens`` may fill.
        target: after compacting, the prompt fills at most this fraction (below ``threshold``,
            so compaction does not repeat every turn).
        compaction: `DropOldest` (default) or `Summarize`.
        counter: how prompts are counted (default `local_counter`; ``model.token_counter()`` of a
            `KimiModel` asks Moonshot, see [`agentkit.tokens`][]).
        default_max_tokens: the answer budget assumed when the request does not set ``max_tokens``.

    Raises:
        UserError: no window given and the model does not know its own.
    """

    def __init__(
        self,
        *,
        window: int | None = None,
        model: Model | None = None,
        threshold: float = 0.85,
        target: float = 0.6,
        compaction: Compaction | None = None,
        counter: TokenCounter = local_counter,
        default_max_tokens: int = 4096,
    ) -> None:
        found = window or (getattr(model, "context_window", None) if model is not None else None)
        if not isinstance(found, int) or found <= 0:
            raise UserError("FitContext needs window= (tokens) or a model= that knows its context_window")
        if not 0 < target <= threshold <= 1:
            raise UserError("FitContext needs 0 < target <= threshold <= 1")
        self.window = found
        self.threshold = threshold
        self.target = target
        self.compaction: Compaction = compaction or DropOldest()
        self.counter = counter
        self.default_max_tokens = default_max_tokens
        self._cuts: dict[str, int] = {}  # run id -> older turns compacted last time (reused while it fits)

    async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
        """Return ``request``, or a copy whose older turns are compacted to fit."""
        return await self._fit(request, info, force=False)

    async def on_model_error(
        self, request: ModelRequest, error: Exception, info: RunInfo
    ) -> ModelRequest | None:
        """After a `ContextOverflowError`, compact once more and retry once."""
        if not isinstance(error, ContextOverflowError):
            return None
        _log.warning("context_overflow", run_id=info.run_id, message=error.message)
        fitted = await self._fit(request, info, force=True)
        return None if fitted is request else fitted

    async def _fit(self, request: ModelRequest, info: RunInfo, *, force: bool) -> ModelRequest:
        answer = request.settings.max_tokens or self.default_max_tokens
        limit = int(self.window * self.threshold) - answer
        total = await self.counter(request.messages, request.tools)
        if total <= limit and not force:
            return request
        split = _split(request.messages)
        sizes = [sum(message_tokens(m) for m in unit) for unit in split.units]
        scale = total / max(1, estimate_tokens(request.messages, request.tools))  # calibrate the estimate
        cut = 0 if force else self._cuts.get(info.run_id, 0)
        if cut == 0 or cut > len(sizes) or (total - scale * sum(sizes[:cut])) > limit:
            cut = _cut_for(sizes, excess=(total - (int(self.window * self.target) - answer)) / scale)
        if force:  # the server disagrees with the estimate: drop at least half of what is left
            cut = max(cut, -(-len(sizes) // 2))
        if cut == 0:
            return request
        self._remember(info.run_id, cut)
        older = [m for unit in split.units[:cut] for m in unit]
        kept = [m for unit in split.units[cut:] for m in unit]
        replacement = await self.compaction.compact(older, info)
        fitted = [*split.head, *replacement, *kept, *split.tail]
        _log.info("context_fitted", run_id=info.run_id, tokens_before=total, compacted_messages=len(older))
        return replace(request, messages=tuple(fitted))

    def _remember(self, run_id: str, cut: int) -> None:
        self._cuts[run_id] = cut
        while len(self._cuts) > 1024:
            del self._cuts[next(iter(self._cuts))]


def _cut_for(sizes: Sequence[int], *, excess: float) -> int:
    """The fewest leading units whose sizes add up to ``excess`` (all of them if none do)."""
    dropped = 0
    for index, size in enumerate(sizes):
        if dropped >= excess:
            return index
        dropped += size
    return len(sizes)


def __getattr__(name: str) -> Callable[[Model], TokenCounter]:
    """``moonshot_counter`` moved to [`agentkit.models`][] (Kimi's own home); the old name still works."""
    if name == "moonshot_counter":
        import warnings  # noqa: PLC0415 - only on the deprecated path

        warnings.warn(
            "agentkit.memory.context.moonshot_counter moved: import it from agentkit.models",
            DeprecationWarning,
            stacklevel=2,
        )
        return _model_counter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _model_counter(model: Model) -> TokenCounter:
    """The deprecated ``moonshot_counter(model)``: the model's own counter, through `CountsTokens`."""
    if not isinstance(model, CountsTokens):
        raise UserError("moonshot_counter needs a KimiModel (a model with token_counter())")
    return model.token_counter()
