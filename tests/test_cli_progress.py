"""The live progress view: turn, parallel tool calls with elapsed time, tokens and cost."""

from __future__ import annotations

import io

from rich.console import Console

from agentkit.cli._progress import Progress
from agentkit.events import ModelCallFinished, PlanUpdated, ToolCallFinished, ToolCallStarted, TurnFinished
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage
from agentkit.models.abstract import ModelRequest, ModelResponse
from agentkit.planning import Plan, PlanStep
from agentkit.usage import Usage


def _call(call_id: str, city: str) -> ToolCall:
    return ToolCall(id=call_id, name="weather", arguments=f'{{"city": "{city}"}}')


def _render(progress: Progress) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(progress.live_view())
    return out.getvalue()


def test_live_view_shows_parallel_calls_side_by_side() -> None:
    """Two running calls get a row each with arguments and elapsed seconds, under the current turn."""
    progress = Progress(live=False, out=io.StringIO())
    progress.on_event(ToolCallStarted(turn=2, key="2.0", call=_call("a", "Oslo")))
    progress.on_event(ToolCallStarted(turn=2, key="2.1", call=_call("b", "Rome")))
    progress.tally.turn = 2
    lines = _render(progress).splitlines()
    assert lines[0].startswith("turn 2  2 tool call(s) running")
    assert '⠿ weather  {"city": "Oslo"}' in lines[1]
    assert lines[1].rstrip().endswith("s")
    assert '⠿ weather  {"city": "Rome"}' in lines[2]
    assert lines[3].startswith("0 tool calls done")


def test_live_view_totals_after_a_turn() -> None:
    """A finished call leaves the running rows; tokens and cost so far appear in the footer."""
    progress = Progress(live=False, out=io.StringIO())
    call = _call("a", "Oslo")
    progress.on_event(ToolCallStarted(turn=1, key="1.0", call=call))
    result = ToolMessage(tool_call_id="a", name="weather", content="21 C")
    progress.on_event(ToolCallFinished(turn=1, key="1.0", call=call, result=result, duration_s=0.25))
    progress.on_event(TurnFinished(turn=1, usage=Usage(input_tokens=120, output_tokens=30, requests=1)))
    text = _render(progress)
    assert "weather" not in text
    assert "1 tool call done · 120 in / 30 out tokens, $0" in text


def test_plain_lines_report_failures() -> None:
    """Off a terminal each step is one line; a failed tool call says 'failed'."""
    out = io.StringIO()
    progress = Progress.plain(out)
    call = _call("a", "Oslo")
    progress.on_event(ToolCallStarted(turn=1, key="1.0", call=call))
    failed = ToolMessage(tool_call_id="a", name="weather", content="boom", is_error=True)
    progress.on_event(ToolCallFinished(turn=1, key="1.0", call=call, result=failed, duration_s=0.5))
    assert out.getvalue().splitlines() == [
        'turn 1: weather({"city": "Oslo"}) started',
        'turn 1: weather({"city": "Oslo"}) failed in 0.50s: boom',
    ]


def test_for_terminal_picks_plain_lines_off_a_tty() -> None:
    """A stream that is not a terminal gets plain lines, not the live panel."""
    out = io.StringIO()
    with Progress.for_terminal(out) as progress:
        progress.on_event(TurnFinished(turn=1, usage=Usage(input_tokens=5, output_tokens=1)))
    assert out.getvalue() == "turn 1 finished: 5 in / 1 out tokens, $0 so far\n"


def test_plan_shows_in_the_live_view_and_as_a_plain_line() -> None:
    """A PlanUpdated event puts each step with its status mark in the panel and one plain line."""
    plan = Plan(
        steps=(
            PlanStep(step="Find the concert", status="completed"),
            PlanStep(step="Book flights", status="in_progress"),
            PlanStep(step="Book a hotel"),
        )
    )
    out = io.StringIO()
    progress = Progress(live=False, out=out)
    progress.on_event(PlanUpdated(turn=3, plan=plan))
    assert out.getvalue() == "turn 3: plan 1/3 done: ✓ Find the concert; ▸ Book flights; · Book a hotel\n"
    lines = _render(progress).splitlines()
    assert [line.strip() for line in lines[1:4]] == ["✓ Find the concert", "▸ Book flights", "· Book a hotel"]


def test_tokens_count_as_soon_as_the_model_answers() -> None:
    """The footer counts a model call's tokens and cost when it answers, before the turn's tools finish.

    A fraction of a cent shows in significant digits (it read $0.0000).
    """
    progress = Progress(live=False, out=io.StringIO())
    response = ModelResponse(
        message=AssistantMessage(content="", tool_calls=(_call("a", "Oslo"),)),
        finish_reason="tool_calls",
        usage=Usage(input_tokens=18_290, output_tokens=1_645, requests=1),
        model_name="kimi",
        retries=2,
        cost_usd=0.0000371,
    )
    progress.on_event(
        ModelCallFinished(turn=1, request=ModelRequest(messages=()), response=response, duration_s=0.1)
    )
    progress.on_event(ToolCallStarted(turn=1, key="1.0", call=_call("a", "Oslo")))
    text = _render(progress)
    assert "0 tool calls done · 2 retried model calls · 18,290 in / 1,645 out tokens, $0.0000371" in text


def test_failed_tools_and_retries_show_in_the_footer_and_lines() -> None:
    """Failed tool calls are counted apart, and a retried model call is one plain line."""
    out = io.StringIO()
    progress = Progress(live=False, out=out)
    response = ModelResponse(
        message=AssistantMessage(content="hi"), finish_reason="stop", usage=Usage(), model_name="m", retries=1
    )
    progress.on_event(
        ModelCallFinished(turn=1, request=ModelRequest(messages=()), response=response, duration_s=0.1)
    )
    call = _call("a", "Oslo")
    failed = ToolMessage(tool_call_id="a", name="weather", content="boom", is_error=True)
    progress.on_event(ToolCallFinished(turn=1, key="1.0", call=call, result=failed, duration_s=0.1))
    assert "turn 1: the model answered after 1 retried attempt" in out.getvalue()
    assert "1 tool call done (1 failed) · 1 retried model call" in _render(progress)
