"""The one home of token counting: a local estimate and the shape of a counter.

A bottom-layer module (it imports only [`agentkit.messages`][] and the model contract).
`text_tokens` is the single estimator (ASCII at ~3.5 characters a token);
`estimate_tokens` applies it to a prompt; `TokenCounter` is what a counter
looks like (the context fitter and the model ladder take one). A provider that can count
exactly offers a `TokenCounter` of its own (``agentkit.models.moonshot_counter``
for Kimi). [`agentkit.memory.context`][] re-exports these names.

>>> from agentkit.messages import UserMessage
>>> estimate_tokens([UserMessage(content="Hello, how are you today?")])
12
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import orjson

from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.model_types import ToolDefinition

__all__ = ["TokenCounter", "estimate_tokens", "local_counter", "message_tokens", "text_tokens"]

#: Counts a prompt: its messages and tool definitions in, tokens out.
TokenCounter = Callable[[Sequence[Message], Sequence[ToolDefinition]], Awaitable[int]]

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


def message_tokens(message: Message) -> int:
    """Estimate one message's tokens: its text, reasoning and tool calls, plus the role markers."""
    total = _PER_MESSAGE + text_tokens(message.content or "")
    if isinstance(message, AssistantMessage):
        total += text_tokens(message.reasoning_content or "")
        total += sum(8 + text_tokens(c.name) + text_tokens(c.arguments) for c in message.tool_calls)
    elif isinstance(message, ToolMessage):
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
