"""A streamed body is read in whatever pieces it arrives in: lines cut anywhere still parse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from agentkit.events import TextDelta
from agentkit.messages import UserMessage
from agentkit.models import KimiModel, ModelRequest
from agentkit.models._openai_stream import SSELines, StreamAccumulator, fold_lines
from agentkit.models.abstract import ModelResponse, ToolCallDelta

pytestmark = pytest.mark.anyio

ASK = ModelRequest(messages=[UserMessage(content="hi")])


def _event(delta: dict[str, object], finish: str | None = None) -> bytes:
    chunk = {
        "id": "c1",
        "model": "kimi-k2",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(chunk)


#: A streamed answer with every line ending SSE allows, the last line without one.
BODY = b"".join(
    (
        b": keep-alive\r\n\r\n",
        _event({"role": "assistant", "content": "Bon"}) + b"\n\n",
        _event({"content": "jour été"}) + b"\r\n\r\n",
        _event({"tool_calls": [{"index": 0, "id": "functions.f:0", "function": {"name": "f"}}]}) + b"\r\r",
        _event({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]}) + b"\n\n",
        _event({}, "tool_calls") + b"\n\n",
        b"data: [DONE]",
    )
)


def _lines(pieces: list[bytes]) -> list[bytes]:
    splitter = SSELines()
    lines = [line for piece in pieces for line in splitter.feed(piece)]
    return [line for line in lines + splitter.flush() if line]


def test_lines_are_the_same_wherever_the_body_is_cut() -> None:
    """Cutting the body into two pieces at any byte gives the same non-empty lines as one piece."""
    whole = _lines([BODY])
    assert whole[0] == b": keep-alive"
    assert whole[-1] == b"data: [DONE]"
    assert len(whole) == 7
    for cut in range(1, len(BODY)):
        assert _lines([BODY[:cut], BODY[cut:]]) == whole, cut


def test_lines_are_the_same_read_a_byte_at_a_time() -> None:
    """One byte a piece (a multi-byte character split too) still gives the same lines."""
    assert _lines([BODY[i : i + 1] for i in range(len(BODY))]) == _lines([BODY])


def test_folding_stops_at_done_and_keeps_the_answer() -> None:
    """Folded lines give the text and call deltas, report [DONE], and assemble the whole message."""
    accumulator = StreamAccumulator()
    events, done = fold_lines(_lines([BODY]), accumulator)
    assert done
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Bonjour été"
    assert [e.name for e in events if isinstance(e, ToolCallDelta)] == ["f", None]
    message = accumulator.wire_body()["choices"][0]["message"]
    assert message["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'


@pytest.fixture
async def piecemeal_server() -> AsyncIterator[str]:
    """A loopback HTTP server answering any POST with BODY, sent in 7-byte chunks of chunked encoding."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for start in range(0, len(BODY), 7):
            piece = BODY[start : start + 7]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/v1"


async def test_a_stream_arriving_in_small_pieces_gives_the_whole_answer(piecemeal_server: str) -> None:
    """Over real HTTP, SSE events cut across chunks and a [DONE] without a line break give the full answer."""
    async with KimiModel(base_url=piecemeal_server, api_key="sk-test") as model:
        events = [event async for event in model.stream(ASK)]
    final = events[-1]
    assert isinstance(final, ModelResponse)
    assert final.message.content == "Bonjour été"
    assert [(c.id, c.name, c.arguments) for c in final.message.tool_calls] == [
        ("functions.f:0", "f", '{"a": 1}')
    ]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Bonjour été"
