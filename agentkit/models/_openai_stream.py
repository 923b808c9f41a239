"""Streaming Chat Completions: SSE lines in, delta events and the assembled body out.

Pure, like [`agentkit.models._openai_wire`][]: `SSELines` cuts the body's bytes into
lines as they arrive, `parse_sse_line` decodes one ``data:`` line, and
`StreamAccumulator` folds chunks into [`TextDelta`][agentkit.events.TextDelta],
[`ReasoningDelta`][agentkit.events.ReasoningDelta] and
[`ToolCallDelta`][agentkit.models.abstract.ToolCallDelta] events, then gives back the body a
non-streamed call would have returned (`fold_lines` does the last two for a piece's lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from agentkit.events import ReasoningDelta, TextDelta
from agentkit.exceptions import ModelResponseError
from agentkit.models._openai_wire import decode_body, excerpt
from agentkit.models._tool_markup import MarkupFilter
from agentkit.models.abstract import ModelStreamEvent, ToolCallDelta

__all__ = ["SSE_DONE", "SSELines", "StreamAccumulator", "fold_lines", "parse_sse_line"]

#: Returned by `parse_sse_line` for the ``data: [DONE]`` terminator.
SSE_DONE: Final = "[DONE]"


def parse_sse_line(line: str | bytes) -> dict[str, Any] | str | None:
    """Return the decoded chunk of an SSE ``data:`` line, `SSE_DONE`, or None to skip it.

    Raises:
        ModelResponseError: the data is not a JSON object.

    """
    if isinstance(line, bytes):
        if not line.startswith(b"data:"):
            return None
        data = line[5:].strip()
        if data == b"[DONE]":
            return SSE_DONE
    else:
        if not line.startswith("data:"):
            return None
        payload = line[5:].strip()
        if payload == SSE_DONE:
            return SSE_DONE
        data = payload.encode()
    return decode_body(data) if data else None


class SSELines:
    r"""Cuts a body arriving in pieces into its lines (bytes, without their line breaks).

    A line ends at ``\n``, ``\r\n`` or ``\r``; a piece's unfinished last line waits for the
    next piece. (A ``\r\n`` split between two pieces gives one extra empty line, which SSE
    ignores.) Bytes are kept as they came: SSE is UTF-8 and the JSON decoder reads bytes.
    """

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest: list[bytes] = []  # the unfinished line's pieces, joined once it ends

    def feed(self, piece: bytes) -> list[bytes]:
        """Return the lines that ``piece`` completes."""
        end = max(piece.rfind(b"\n"), piece.rfind(b"\r")) + 1
        if not end:  # no line ends here: keep the piece (a long line costs one join, not one per piece)
            if piece:
                self._rest.append(piece)
            return []
        done = piece[:end]
        if self._rest:
            self._rest.append(done)
            done = b"".join(self._rest)
        self._rest = [piece[end:]] if end < len(piece) else []
        return done.splitlines()

    def flush(self) -> list[bytes]:
        """Return the body's last line when it did not end with a line break."""
        rest, self._rest = b"".join(self._rest), []
        return [rest] if rest else []


def fold_lines(lines: list[bytes], accumulator: StreamAccumulator) -> tuple[list[ModelStreamEvent], bool]:
    """Feed SSE lines to ``accumulator``; return their events and whether ``[DONE]`` came.

    The lines after ``[DONE]`` are not read. (`parse_sse_line`'s rules, inlined: this runs
    for every line of every streamed answer.)

    Raises:
        ModelResponseError: a data line is not a JSON object, or is an in-stream error.

    """
    events: list[ModelStreamEvent] = []
    for line in lines:
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if not data:
            continue
        if data == b"[DONE]":
            return events, True
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunk = None
        accumulator.feed_into(chunk if type(chunk) is dict else decode_body(data), events)
    return events, False


@dataclass(kw_only=True, slots=True)
class _PartialCall:
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: list[str]


class StreamAccumulator:
    """Folds streamed chunks into delta events and, at the end, the assembled response body.

    Tool calls are accumulated by ``index``; the first non-empty id and name are kept (some
    servers change the id mid-stream). With ``hide_markup`` (a profile that recovers raw
    tool-call markup), markup in the text is kept out of the text deltas; the assembled body
    still holds it, for [`recover_tool_calls`][agentkit.models._tool_markup.recover_tool_calls].
    """

    __slots__ = (
        "_calls",
        "_content",
        "_finish_reason",
        "_id",
        "_markup",
        "_model",
        "_reasoning",
        "_usage",
        "saw_finish",
    )

    def __init__(self, *, hide_markup: bool = False) -> None:
        self._markup = MarkupFilter() if hide_markup else None
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._finish_reason: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._id: str | None = None
        self._model: str | None = None
        #: True once a chunk carried a ``finish_reason``.
        self.saw_finish = False

    def feed(self, chunk: Mapping[str, Any]) -> list[ModelStreamEvent]:
        """Take one decoded chunk and return the events it carries.

        Raises:
            ModelResponseError: the chunk is an in-stream error object.

        """
        events: list[ModelStreamEvent] = []
        self.feed_into(chunk, events)
        return events

    def feed_into(self, chunk: Mapping[str, Any], events: list[ModelStreamEvent]) -> None:
        """Take one decoded chunk and append the events it carries to ``events``.

        Raises:
            ModelResponseError: the chunk is an in-stream error object.

        """
        if "error" in chunk:
            error = chunk["error"] if isinstance(chunk["error"], Mapping) else {"message": chunk["error"]}
            raise ModelResponseError(
                f"stream failed: {error.get('type') or 'error'}: {excerpt(str(error.get('message')))}"
            )
        if not self._id:
            self._id = chunk.get("id")
        if not self._model:
            self._model = chunk.get("model")
        usage = chunk.get("usage")
        if usage:
            self._usage = usage
        for choice in chunk.get("choices") or ():
            usage = choice.get("usage")
            if usage:
                self._usage = usage
            finish_reason = choice.get("finish_reason")
            if finish_reason:
                self._finish_reason = finish_reason
                self.saw_finish = True
            delta = choice.get("delta")
            if type(delta) is dict or isinstance(delta, Mapping):
                self._feed_delta(delta, events)

    def _feed_delta(self, delta: Mapping[str, Any], events: list[ModelStreamEvent]) -> None:
        reasoning = delta.get("reasoning_content")
        if reasoning:
            self._reasoning.append(reasoning)
            events.append(ReasoningDelta(text=reasoning))
        content = delta.get("content")
        if content:
            self._content.append(content)
            shown = content if self._markup is None else self._markup.feed(content)
            if shown:
                events.append(TextDelta(text=shown))
        tool_calls = delta.get("tool_calls")
        if tool_calls:
            self._feed_calls(tool_calls, events)

    def _feed_calls(self, tool_calls: Any, events: list[ModelStreamEvent]) -> None:
        calls = self._calls
        for position, raw in enumerate(tool_calls):
            index = raw.get("index")
            if not isinstance(index, int):
                index = position
            call = calls.get(index)
            if call is None:
                call = calls[index] = _PartialCall(arguments=[])
            function = raw.get("function") or {}
            new_id, name = raw.get("id") or None, function.get("name") or None
            arguments = function.get("arguments") or ""
            if new_id and not call.id:
                call.id = new_id
            if name and not call.name:
                call.name = name
            kind = raw.get("type")
            if kind:
                call.type = kind
            call.arguments.append(arguments)
            events.append(ToolCallDelta(index=index, id=new_id, name=name, arguments=arguments))

    def flush(self) -> list[ModelStreamEvent]:
        """Return the text deltas still held back at the end of the stream (never markup)."""
        rest = self._markup.flush() if self._markup is not None else ""
        return [TextDelta(text=rest)] if rest else []

    def wire_body(self) -> dict[str, Any]:
        """Return the stream as the body a non-streamed call would have returned."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._content) or None}
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._calls:
            message["tool_calls"] = [
                {"id": c.id, "type": c.type, "function": {"name": c.name, "arguments": "".join(c.arguments)}}
                for _, c in sorted(self._calls.items())
            ]
        if message["content"] is None and not self._calls:
            message["content"] = ""
        body: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "model": self._model,
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish_reason}],
        }
        if self._usage is not None:
            body["usage"] = dict(self._usage)
        return body
