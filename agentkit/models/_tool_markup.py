"""Recover tool calls that a self-hosted Kimi-K2 left as raw markup in the answer text.

When an engine runs without (or with a broken) ``kimi_k2`` tool parser, the
model's calls arrive as special tokens in ``content`` instead of
``tool_calls``::

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

:func:`recover_tool_calls` turns such text into real :class:`ToolCall` s (the
id kept verbatim) so the run goes on; markup it cannot read becomes a call
with an empty name, which the loop answers with a clear error for the model.

>>> text = ('Checking.<|tool_calls_section_begin|><|tool_call_begin|>functions.add:3'
...         '<|tool_call_argument_begin|>{"a": 1}<|tool_call_end|><|tool_calls_section_end|>')
>>> message = recover_tool_calls(AssistantMessage(content=text))
>>> message.content, message.tool_calls[0].name, message.tool_calls[0].id
('Checking.', 'add', 'functions.add:3')
"""

from __future__ import annotations

import re
from dataclasses import replace

import orjson

from agentkit.messages import AssistantMessage, ToolCall

__all__ = ["CALL_MARKER", "decode_double_encoded", "recover_tool_calls"]

CALL_MARKER = "<|tool_call_begin|>"
_SECTION = re.compile(r"<\|tool_calls_section_begin\|>.*?(?:<\|tool_calls_section_end\|>|\Z)", re.DOTALL)
_CALL = re.compile(
    r"<\|tool_call_begin\|>\s*(?P<id>[^<]+?)\s*<\|tool_call_argument_begin\|>(?P<args>.*?)\s*<\|tool_call_end\|>",
    re.DOTALL,
)
# functions.NAME:IDX (current ids) or NAME:IDX (older outputs)
_ID = re.compile(r"^(?:functions\.)?(?P<name>[A-Za-z_$][\w$.-]*?):\d+$")


def recover_tool_calls(message: AssistantMessage) -> AssistantMessage:
    """Return ``message`` with markup tool calls moved from ``content`` into ``tool_calls``."""
    content = message.content or ""
    if message.tool_calls or CALL_MARKER not in content:
        return message
    calls: list[ToolCall] = []
    for index, match in enumerate(_CALL.finditer(content)):
        raw_id = match.group("id")
        parsed = _ID.match(raw_id)
        name = parsed.group("name") if parsed else ""
        calls.append(
            ToolCall(
                id=raw_id if parsed else f"functions.invalid:{index}",
                name=name,
                arguments=match.group("args"),
            )
        )
    if not calls:
        calls.append(
            ToolCall(id="functions.invalid:0", name="", arguments=content[content.index(CALL_MARKER) :])
        )
    remaining = _SECTION.sub("", content)
    remaining = _CALL.sub("", remaining).strip()
    return replace(message, content=remaining or None, tool_calls=tuple(calls))


def decode_double_encoded(message: AssistantMessage) -> AssistantMessage:
    """Return ``message`` with arguments that are a JSON string holding a JSON object decoded once.

    Anything else (valid objects, plain strings, broken JSON) is left as it is, for the tool
    layer to accept or report.

    >>> twice = orjson.dumps('{"a": 1}').decode()  # a JSON string holding JSON
    >>> call = ToolCall(id="functions.add:0", name="add", arguments=twice)
    >>> decode_double_encoded(AssistantMessage(tool_calls=(call,))).tool_calls[0].arguments
    '{"a": 1}'
    """
    if not message.tool_calls:
        return message
    calls = tuple(_decoded(call) for call in message.tool_calls)
    if all(new is old for new, old in zip(calls, message.tool_calls, strict=True)):
        return message
    return replace(message, tool_calls=calls)


def _decoded(call: ToolCall) -> ToolCall:
    text = call.arguments.strip()
    if not text.startswith('"'):
        return call
    try:
        inner = orjson.loads(text)
        if not isinstance(inner, str) or not isinstance(orjson.loads(inner), dict):
            return call
    except orjson.JSONDecodeError:
        return call
    return replace(call, arguments=inner)
