"""The one home of token counting: the local estimate and the counter protocol.

A bottom-layer module (it imports only [`agentkit.messages`][] and the model contract).
[`text_tokens`][agentkit.tokens.text_tokens] is the single estimator (ASCII at ~3.5 characters a
token); [`estimate_tokens`][agentkit.tokens.estimate_tokens] applies it to a prompt and
[`answer_tokens`][agentkit.tokens.answer_tokens] to a model's answer (the usage a provider
estimates when its server reports none, and `FunctionModel`'s).
[`TokenCounter`][agentkit.tokens.TokenCounter] is what every counter looks like (the context
fitter, the model ladder and `KimiAutoModel` take one): messages and tool definitions in,
tokens out. A model that can count exactly offers its own counter through
[`CountsTokens`][agentkit.tokens.CountsTokens] (`KimiModel.token_counter()` asks Moonshot's
estimate endpoint); [`counter_for`][agentkit.tokens.counter_for] picks it, or the local estimate.
`agentkit.memory.context` re-exports these names.

>>> from agentkit.messages import UserMessage
>>> estimate_tokens([UserMessage(content="Hello, how are you today?")])
12
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol, runtime_checkable

import orjson

from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.model_types import ToolDefinition

__all__ = [
    "CountsTokens",
    "TokenCounter",
    "answer_tokens",
    "counter_for",
    "estimate_tokens",
    "local_counter",
    "message_tokens",
    "text_tokens",
]


class TokenCounter(Protocol):
    """Counts a prompt: its messages and tool definitions in, tokens out (awaited).

    Any ``async def count(messages, tools) -> int`` is one; the parameters are positional, so
    their names are free.
    """

    def __call__(self, messages: Sequence[Message], tools: Sequence[ToolDefinition], /) -> Awaitable[int]:
        """Return the prompt's tokens."""
        ...


@runtime_checkable
class CountsTokens(Protocol):
    """A model that counts its own prompts exactly (`KimiModel`: Moonshot's estimate endpoint)."""

    def token_counter(self) -> TokenCounter:
        """Return a counter for this model's prompts (it may send a request per count)."""
        ...


_PER_MESSAGE = 4  # role markers and separators


def text_tokens(text: str) -> int:
    """Estimate ``text``'s tokens: ASCII at ~3.5 characters a token, other characters one each.

    Errs on the high side of BPE tokenizers for English and code, and of Kimi's
    for Chinese (about 1.3 characters a token), so a fitted prompt fits.
    """
    chars = len(text)
    if text.isascii():
        return -(-chars * 2 // 7)
    wide = len(text.encode()) - chars  # extra UTF-8 bytes: ~1 per Latin-1 char, 2 per CJK char
    non_ascii = min(chars, -(-wide // 2))
    return -(-(chars - non_ascii) * 2 // 7) + non_ascii


def answer_tokens(message: AssistantMessage) -> int:
    """Estimate the tokens a model wrote for ``message``: its text, reasoning and tool calls.

    What a provider reports as usage when its server reports none (no role markers).
    """
    total = text_tokens(message.content or "") + text_tokens(message.reasoning_content or "")
    return total + sum(text_tokens(c.name) + text_tokens(c.arguments) for c in message.tool_calls)


def message_tokens(message: Message) -> int:
    """Estimate one message's tokens: its text, reasoning and tool calls, plus the role markers."""
    if isinstance(message, AssistantMessage):
        return _PER_MESSAGE + answer_tokens(message) + 8 * len(message.tool_calls)
    total = _PER_MESSAGE + text_tokens(message.content or "")
    if isinstance(message, ToolMessage):
        total += text_tokens(message.tool_call_id)
    return total


def estimate_tokens(messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()) -> int:
    """Estimate the prompt tokens of ``messages`` plus ``tools`` (their JSON schemas), locally."""
    total = sum(message_tokens(m) for m in messages)
    for definition in tools:
        total += 8 + text_tokens(definition.name + definition.description)
        total += text_tokens(orjson.dumps(dict(definition.parameters)).decode())
    return total


async def local_counter(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> int:
    """`estimate_tokens` as a `TokenCounter`."""
    return estimate_tokens(messages, tools)


def counter_for(model: object) -> TokenCounter:
    """Return ``model``'s own counter when it offers one, else the local estimate.

    A model offers one by being a [`CountsTokens`][agentkit.tokens.CountsTokens].
    """
    if isinstance(model, CountsTokens):
        return model.token_counter()
    return local_counter
