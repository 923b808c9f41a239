"""Summaries stored in the session: a later run (another Agent, another process) starts from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import Agent
from agentkit.memory import SQLiteMemory, Summary
from agentkit.memory.context import SUMMARY_PREFIX, FitContext, Summarize
from agentkit.messages import Message, SystemMessage, ToolMessage, UserMessage
from agentkit.models.function import ScriptedModel
from tests._memory_backends import tool_turn

pytestmark = pytest.mark.anyio

SUMMARY = SUMMARY_PREFIX + "They looked up items 0 to 19; all found."


def _turns(count: int) -> list[list[Message]]:
    """``count`` stored tool turns of about 260 estimated tokens each."""
    return [
        [
            ToolMessage(tool_call_id=m.tool_call_id, name=m.name, content="r" * 350)
            if isinstance(m, ToolMessage)
            else m
            for m in tool_turn(index, width=2)
        ]
        for index in range(count)
    ]


async def _run(path: Path, summarizer: ScriptedModel, prompt: str) -> ScriptedModel:
    """One run on session "long" by a fresh Agent, memory and FitContext; returns its chat model."""
    memory = SQLiteMemory(path)
    chat = ScriptedModel([f"answer to {prompt}"])
    fit = FitContext(window=4000, default_max_tokens=500, compaction=Summarize(summarizer))
    await Agent(chat, instructions="sys", memory=memory, hooks=[fit]).run(prompt, session="long")
    memory.close()
    return chat


async def test_a_second_agent_starts_from_the_stored_summary(tmp_path: Path) -> None:
    """Two Agents in sequence on one SQLite session: the summary is written once, stored, and reused."""
    path = tmp_path / "s.db"
    setup = SQLiteMemory(path)
    for turn in _turns(20):
        await setup.append("long", turn)
    setup.close()
    summarizer = ScriptedModel(["They looked up items 0 to 19; all found."])  # one reply: a second ask fails

    first = await _run(path, summarizer, "first?")
    sent = first.requests[0].messages
    assert sent[1] == UserMessage(content=SUMMARY)
    reader = SQLiteMemory(path)
    stored = await reader.load_summary("long")
    raw = await reader.load("long")
    covers = 80 - (len(sent) - 3)  # all but the kept older messages (sent: system, summary, kept, prompt)
    assert stored == Summary(covers=covers, message=UserMessage(content=SUMMARY))

    second = await _run(path, summarizer, "second?")
    assert len(summarizer.requests) == 1
    assert list(second.requests[0].messages) == [
        SystemMessage(content="sys"),
        UserMessage(content=SUMMARY),
        *raw[covers:],
        UserMessage(content="second?"),
    ]
    everything = await reader.load("long")
    assert len(everything) == 80 + 2 + 2  # the raw turns stay retrievable
    assert everything[:80] == [m for turn in _turns(20) for m in turn]
    reader.close()


async def test_a_grown_session_rolls_the_stored_summary_forward(tmp_path: Path) -> None:
    """When the summary plus newer turns overflow again, a new summary covering more is stored."""
    path = tmp_path / "s.db"
    memory = SQLiteMemory(path)
    for turn in _turns(20):
        await memory.append("long", turn)
    summarizer = ScriptedModel(["first summary", "second summary"])
    await _run(path, summarizer, "first?")
    before = await memory.load_summary("long")
    for turn in _turns(40)[20:]:
        await memory.append("long", turn)
    second = await _run(path, summarizer, "second?")
    after = await memory.load_summary("long")
    assert before is not None
    assert after is not None
    assert after.message == UserMessage(content=SUMMARY_PREFIX + "second summary")
    assert after.covers > before.covers
    rolled = summarizer.requests[1].messages[1].content or ""
    assert "first summary" in rolled  # the old summary is part of what the new one summarises
    sent = second.requests[0].messages
    assert sent[2:-1] == tuple((await memory.load("long"))[after.covers : after.covers + len(sent) - 3])
    memory.close()
