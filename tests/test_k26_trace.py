"""The authored kimi-k2.6 trace (thinking, parallel tools, images) replays strictly and regenerates."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.messages import AssistantMessage, ToolMessage, UserMessage
from agentkit.models import ReplayModel
from agentkit.tracing import read_trace
from tests._k26_trace import PROMPT, TRACE, build_agent, prompt_image, record

pytestmark = pytest.mark.anyio


def test_the_trace_is_authored_and_holds_thinking_parallel_tools_and_images() -> None:
    """origin: authored; reasoning on every tool-call turn, a parallel turn, images stored once as blobs."""
    trace = read_trace(TRACE)
    assert trace.origin == "authored"
    assert trace.header["model"] == "kimi-k2.6"
    messages = trace.messages()
    calls = [m for m in messages if isinstance(m, AssistantMessage) and m.tool_calls]
    assert [len(m.tool_calls) for m in calls] == [1, 2]
    assert all(m.reasoning_content for m in calls)
    assert isinstance(messages[1], UserMessage)
    assert messages[1].images == (prompt_image(),)
    assert any(isinstance(m, ToolMessage) and m.images for m in messages)
    bodies = [call["wire_request"] for call in trace.model_calls]
    assert all("temperature" not in b and b["max_completion_tokens"] == 32_768 for b in bodies)
    text = TRACE.read_text()
    assert text.count(prompt_image().url.partition(",")[2]) == 1  # sent three times, stored once
    assert '"type":"blob"' in text


async def test_the_trace_replays_strictly() -> None:
    """The agent replayed against the trace (strict) sends the same requests and gets the same answer."""
    replay = ReplayModel.from_trace(TRACE, strict=True)
    result = await build_agent(replay).run(PROMPT, images=[prompt_image()])
    assert result.output.endswith("the total is 13 and the product is 42.")
    assert result.messages == read_trace(TRACE).messages()
    replay.finish()


async def test_regenerating_gives_the_same_conversation(tmp_path: Path) -> None:
    """tests/_k26_trace.py writes the same messages again (the fixture is what the script produces)."""
    path = tmp_path / "again.jsonl"
    await record(path)
    assert read_trace(path).messages() == read_trace(TRACE).messages()
