"""Spans: the Tracer builds run > turn > model call | tool call from a run's events."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog

from agentkit import Agent, tool
from agentkit.messages import UserMessage
from agentkit.models import KIMI_PROFILE, KimiModel, ModelRequest, ReplayModel
from agentkit.models.function import ScriptedModel
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import (
    CapturedTraces,
    Tracer,
    add_trace_context,
    capture_traces,
    current_trace_context,
    read_trace,
)
from agentkit.tracing.abstract import Span
from tests.builders import calls

pytestmark = pytest.mark.anyio

SEEN: list[dict[str, object]] = []


@tool
async def slow(city: str) -> str:
    """Slow lookup.

    Args:
        city: City name.
    """
    await anyio.sleep(0.05)
    context = current_trace_context()
    SEEN.append({"city": city, "tool_call_id": context.tool_call_id if context else None})
    return f"{city}: ok"


@tool
def broken(x: int) -> int:
    """Always fails.

    Args:
        x: Anything.
    """
    raise ValueError("boom")


def _agent(*replies: object) -> Agent[str]:
    return Agent(ScriptedModel(list(replies)), tools=[slow, broken], name="trip")  # type: ignore[arg-type]  # replies are Reply values


async def test_span_tree_shape_matches_snapshot() -> None:
    """A two-turn run with two parallel calls gives the expected normalised span tree."""
    with capture_traces() as captured:
        await _agent(calls(("slow", {"city": "Oslo"}), ("slow", {"city": "Rome"})), "done").run("go")
    assert captured.tree() == [
        (0, "invoke_agent trip"),
        (1, "turn 1"),
        (2, "chat scripted"),
        (2, "execute_tool slow"),
        (2, "execute_tool slow"),
        (1, "turn 2"),
        (2, "chat scripted"),
    ]


async def test_parallel_tool_spans_overlap_and_nest_in_their_turn() -> None:
    """Parallel tool calls have overlapping [start, end] intervals inside their turn span."""
    with capture_traces() as captured:
        await _agent(calls(("slow", {"city": "Oslo"}), ("slow", {"city": "Rome"})), "done").run("go")
    first, second = captured.of_kind("tool_call")
    assert first.start_ns < second.end_ns
    assert second.start_ns < first.end_ns
    turn = next(s for s in captured.of_kind("turn") if s.span_id == first.parent_id)
    assert turn.start_ns <= min(first.start_ns, second.start_ns)
    assert turn.end_ns >= max(first.end_ns, second.end_ns)


async def test_span_attributes_carry_usage_arguments_and_errors() -> None:
    """Model spans carry usage and model; tool spans carry arguments, result and the error."""
    with capture_traces() as captured:
        result = await _agent(calls(("broken", {"x": 1})), "sorry").run("go")
    model_span = captured.of_kind("model_call")[0]
    assert model_span.attributes["usage"]["requests"] == 1
    assert model_span.attributes["model"] == "scripted"
    tool_span = captured.of_kind("tool_call")[0]
    assert tool_span.attributes["arguments"] == '{"x":1}'
    assert tool_span.attributes["is_error"] is True
    assert tool_span.error is not None
    assert "boom" in tool_span.error
    run_span = captured.of_kind("run")[0]
    assert run_span.attributes["output"] == "sorry"
    assert run_span.attributes["usage"] == {
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
        "cached_tokens": 0,
        "requests": 2,
        "tool_calls": 1,
        "web_searches": 0,
    }
    assert run_span.parent_id is None
    assert {s.trace_id for s in captured.spans} == {result.run_id}


async def test_failed_run_closes_open_spans_with_the_error() -> None:
    """A run that fails (script exhausted) still ends its turn and run spans, marked with the error."""
    with capture_traces() as captured, pytest.raises(Exception, match="no reply left"):
        await _agent(calls(("slow", {"city": "Oslo"}))).run("go")
    run_span = captured.of_kind("run")[0]
    assert run_span.error is not None
    assert "no reply left" in run_span.error
    assert [s.name for s in captured.of_kind("turn")] == ["turn 1", "turn 2"]


async def test_concurrent_runs_on_one_tracer_keep_their_spans_apart() -> None:
    """One Tracer attached to an agent serves concurrent runs; every span lands in its own run."""
    sink = CapturedTraces()
    tracer = Tracer([sink])

    async def one(city: str) -> None:
        model = ScriptedModel([calls(("slow", {"city": city})), "done"])
        await Agent(model, tools=[slow], hooks=[tracer]).run("go")

    async with anyio.create_task_group() as tg:
        for city in ("Oslo", "Rome", "Lima"):
            tg.start_soon(one, city)
    runs = {s.trace_id for s in sink.spans}
    assert len(runs) == 3
    for run_id in runs:
        mine = [s for s in sink.spans if s.trace_id == run_id]
        assert [s.kind for s in mine].count("tool_call") == 1
        ids = {s.span_id for s in mine}
        assert all(s.parent_id in ids for s in mine if s.parent_id is not None)


async def test_trace_context_reaches_tools_and_structlog() -> None:
    """Inside a traced tool call the context names the call; add_trace_context adds run id and turn."""
    SEEN.clear()
    with capture_traces() as captured:
        await _agent(calls(("slow", {"city": "Oslo"}), ("slow", {"city": "Rome"})), "done").run("go")
    ids = {s.attributes["tool_call_id"] for s in captured.of_kind("tool_call")}
    assert {str(seen["tool_call_id"]) for seen in SEEN} == ids
    assert current_trace_context() is None
    event = add_trace_context(None, "info", {"event": "x"})
    assert "run_id" not in event


async def test_add_trace_context_in_a_structlog_chain() -> None:
    """A structlog logger configured with add_trace_context tags a tool's log lines with the call."""
    lines: list[dict[str, object]] = []

    def keep(logger: object, method: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
        lines.append(dict(event_dict))
        raise structlog.DropEvent

    log = structlog.wrap_logger(logging.getLogger("t"), processors=[add_trace_context, keep])

    @tool
    def noisy() -> str:
        """Log something."""
        log.info("inside")
        return "ok"

    with capture_traces():
        result = await Agent(ScriptedModel([calls(("noisy", {})), "done"]), tools=[noisy]).run("go")
    assert lines[0]["run_id"] == result.run_id
    assert lines[0]["turn"] == 1
    assert str(lines[0]["tool_call_id"]).startswith("functions.noisy:")


def test_span_duration() -> None:
    """Span.duration_s is end minus start in seconds."""
    span = Span(
        span_id="a", parent_id=None, trace_id="t", kind="run", name="r", start_ns=0, end_ns=1_500_000_000
    )
    assert span.duration_s == 1.5


async def test_nested_agent_on_the_same_tracer_keeps_both_trees() -> None:
    """An agent called as a tool, traced by the same Tracer, ends its run without losing the caller's."""
    sink = CapturedTraces()
    tracer = Tracer([sink])
    helper = Agent(ScriptedModel(["helped"]), name="helper", hooks=[tracer])
    boss_model = ScriptedModel([calls(("helper", {"task": "help"})), "done"])
    result = await Agent(boss_model, tools=[helper.as_tool()], name="boss", hooks=[tracer]).run("go")
    mine = [s for s in sink.spans if s.trace_id == result.run_id]
    assert [s.name for s in mine if s.kind in ("tool_call", "run")] == [
        "execute_tool helper",
        "invoke_agent boss",
    ]
    assert [s.name for s in sink.spans if s.kind == "run"] == ["invoke_agent helper", "invoke_agent boss"]


async def test_retries_reach_the_spans_the_trace_file_and_a_replay(
    fake_kimi: FakeKimiServer, tmp_path: Path
) -> None:
    """A provider retry (a 429, then the answer) and a tool's repair call are counted on their spans."""
    fast = replace(KIMI_PROFILE, retry=replace(KIMI_PROFILE.retry, base_delay_s=0.001, max_delay_s=0.01))
    fake_kimi.add(
        Reply.error(429, "engine_overloaded_error", "busy"),
        Reply.tool_calls(("broken", {"x": 1})),
        Reply.tool_calls(("broken", {"x": 2})),
        Reply.text("gave up"),
    )
    path = tmp_path / "retries.jsonl"
    async with KimiModel(
        "kimi-k2-0905-preview", base_url=fake_kimi.base_url, api_key="k", profile=fast
    ) as model:
        with capture_traces() as captured:
            await Agent(model, tools=[broken]).run("go", trace=path)
    assert [s.attributes["retries"] for s in captured.of_kind("model_call")] == [1, 0, 0]
    assert [s.attributes["retry"] for s in captured.of_kind("tool_call")] == [0, 1]
    records = read_trace(path).records
    model_calls = [r for r in records if r["type"] == "model_call"]
    assert model_calls[0]["response"]["retries"] == 1
    assert "retries" not in model_calls[1]["response"]  # written only when there were retries
    assert [r.get("retry", 0) for r in records if r["type"] == "tool_call"] == [0, 1]
    replayed = ReplayModel.from_trace(path, strict=False)
    first = await replayed.complete(ModelRequest(messages=(UserMessage(content="go"),), tools=()))
    assert first.retries == 1
