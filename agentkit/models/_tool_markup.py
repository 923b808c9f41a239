"""Recover tool calls that a self-hosted Kimi-K2 left as raw markup in the answer text.

When an engine runs without (or with a broken) ``kimi_k2`` tool parser, the
model's calls arrive as special tokens in ``content`` instead of
``tool_calls``::

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

`recover_tool_calls` turns such text into real `ToolCall` s (the
id kept verbatim) so the run goes on. Arguments are read as one JSON value, so a
marker quoted inside a string does not end them. A call whose id cannot be read
(markup cut off before its arguments) becomes a call named `UNREADABLE_CALL`,
which the loop answers with an error telling the model to call again; an empty
name is never sent back to the server. While streaming, `MarkupFilter`
keeps the markup out of the text deltas users see.

>>> text = ('Checking.<|tool_calls_section_begin|><|tool_call_begin|>functions.add:3'
...         '<|tool_call_argument_begin|>{"a": 1}<|tool_call_end|><|tool_calls_section_end|>')
>>> message = recover_tool_calls(AssistantMessage(content=text))
>>> message.content, message.tool_calls[0].name, message.tool_calls[0].id
('Checking.', 'add', 'functions.add:3')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Final

import orjson

from agentkit.messages import AssistantMessage, ToolCall

__all__ = [
    "CALL_MARKER",
    "UNREADABLE_CALL",
    "MarkupFilter",
    "decode_double_encoded",
    "recover_tool_calls",
]

CALL_MARKER: Final = "<|tool_call_begin|>"
SECTION_BEGIN: Final = "<|tool_calls_section_begin|>"
SECTION_END: Final = "<|tool_calls_section_end|>"
ARGUMENT_MARKER: Final = "<|tool_call_argument_begin|>"
END_MARKER: Final = "<|tool_call_end|>"
#: The name given to a markup call whose id could not be read (cut off, garbled). The loop
#: answers it with an error for the model; the name is a valid tool name, unlike ``""``.
UNREADABLE_CALL: Final = "unreadable_tool_call"

_BEGINNINGS: Final = (SECTION_BEGIN, CALL_MARKER)
_MARKERS: Final = (SECTION_BEGIN, SECTION_END, CALL_MARKER, ARGUMENT_MARKER, END_MARKER)
# functions.NAME:IDX (current ids) or NAME:IDX (older outputs)
_ID = re.compile(r"^(?:functions\.)?(?P<name>[A-Za-z_$][\w$.-]*?):\d+$")
_DECODER: Final = json.JSONDecoder()


@dataclass(frozen=True, kw_only=True, slots=True)
class _Parsed:
    call: ToolCall
    end: int  # where the text after this call starts


def recover_tool_calls(message: AssistantMessage) -> AssistantMessage:
    """Return ``message`` with markup tool calls moved from ``content`` into ``tool_calls``."""
    content = message.content or ""
    if message.tool_calls or CALL_MARKER not in content:
        return message
    calls: list[ToolCall] = []
    kept: list[str] = []
    position = 0
    while True:
        start = content.find(CALL_MARKER, position)
        if start < 0:
            kept.append(content[position:])
            break
        kept.append(content[position:start])
        parsed = _parse_call(content, start + len(CALL_MARKER), len(calls))
        calls.append(parsed.call)
        position = parsed.end
    remaining = "".join(kept)
    for marker in (SECTION_BEGIN, SECTION_END):
        remaining = remaining.replace(marker, "")
    return replace(message, content=remaining.strip() or None, tool_calls=tuple(calls))


def _parse_call(content: str, start: int, index: int) -> _Parsed:
    """Read one call whose ``<|tool_call_begin|>`` ends at ``start``."""
    arguments_at = content.find(ARGUMENT_MARKER, start)
    next_call = content.find(CALL_MARKER, start)
    if arguments_at < 0 or 0 <= next_call < arguments_at:
        # Cut off (or garbled) before the arguments: nothing here can be run.
        end = next_call if next_call >= 0 else len(content)
        fragment = CALL_MARKER + content[start:end]
        return _Parsed(call=_unreadable(index, fragment), end=end)
    raw_id = content[start:arguments_at].strip()
    parsed_id = _ID.match(raw_id)
    arguments, end = _arguments(content, arguments_at + len(ARGUMENT_MARKER))
    if parsed_id is None:
        fragment = CALL_MARKER + content[start:end]
        return _Parsed(call=_unreadable(index, fragment), end=end)
    call = ToolCall(id=raw_id, name=parsed_id.group("name"), arguments=arguments)
    return _Parsed(call=call, end=end)


def _arguments(content: str, start: int) -> tuple[str, int]:
    """Return the arguments text starting at ``start`` and where the text after the call starts.

    The arguments are one JSON value when they parse as one (markers inside its strings are
    data); otherwise they run to the next marker (the tool layer reports the broken JSON).
    """
    body_start = start
    while body_start < len(content) and content[body_start].isspace():
        body_start += 1
    try:
        _, value_end = _DECODER.raw_decode(content, body_start)
    except ValueError:
        value_end = -1
    if value_end >= 0:
        rest = content[value_end:].lstrip()
        if not rest or rest.startswith(_MARKERS):
            after = len(content) - len(rest)
            if rest.startswith(END_MARKER):
                after += len(END_MARKER)
            return content[body_start:value_end], after
    stop = min((i for m in _MARKERS if (i := content.find(m, body_start)) >= 0), default=len(content))
    after = stop + len(END_MARKER) if content.startswith(END_MARKER, stop) else stop
    return content[body_start:stop].rstrip(), after


def _unreadable(index: int, fragment: str) -> ToolCall:
    return ToolCall(id=f"functions.{UNREADABLE_CALL}:{index}", name=UNREADABLE_CALL, arguments=fragment)


class MarkupFilter:
    """Keeps tool-call markup out of streamed text: feed it deltas, emit what it returns.

    Text from a section or call marker on is held back until the section ends; a possible
    marker cut across two deltas is held until the next one tells. `flush` returns
    what is left to show at the end of the stream (never markup).

    >>> f = MarkupFilter()
    >>> [f.feed(t) for t in ("Checking.<|tool_ca", "ll_begin|>functions.add:0", "...")]
    ['Checking.', '', '']
    """

    __slots__ = ("_in_markup", "_pending")

    def __init__(self) -> None:
        self._pending = ""
        self._in_markup = False

    def feed(self, text: str) -> str:
        """Take one text delta; return the part of it (and of earlier ones) safe to show."""
        self._pending += text
        shown: list[str] = []
        while self._pending:
            if self._in_markup:
                end = self._pending.find(SECTION_END)
                if end < 0:
                    self._pending = self._pending[-(len(SECTION_END) - 1) :]
                    break
                self._pending = self._pending[end + len(SECTION_END) :]
                self._in_markup = False
                continue
            begin = min((i for m in _BEGINNINGS if (i := self._pending.find(m)) >= 0), default=-1)
            if begin >= 0:
                shown.append(self._pending[:begin])
                self._pending = self._pending[begin:]
                self._in_markup = True
                continue
            held = _partial_marker_suffix(self._pending)
            shown.append(self._pending[: len(self._pending) - held])
            self._pending = self._pending[len(self._pending) - held :]
            break
        return "".join(shown)

    def flush(self) -> str:
        """Return the text still held that turned out not to be markup."""
        pending, self._pending = self._pending, ""
        return "" if self._in_markup else pending


def _partial_marker_suffix(text: str) -> int:
    """The length of the longest end of ``text`` that begins a section or call marker."""
    longest = 0
    for marker in _BEGINNINGS:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if text.endswith(marker[:size]):
                longest = size
                break
    return longest


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
