"""Traces record approval decisions, pauses and plans; ``trace show`` and the HTML view display them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import Agent, tool
from agentkit.approval import Approve, Reject
from agentkit.messages import ToolCall
from agentkit.models.function import ScriptedModel, call
from agentkit.planning import update_plan
from agentkit.tracing import read_trace
from agentkit.tracing.html import render_html
from agentkit.tracing.timeline import format_plan, latest_plan, markers
from tests._cli import run_cli

pytestmark = pytest.mark.anyio

STEPS_1 = [{"step": "Draft the email", "status": "in_progress"}, {"step": "Send it", "status": "pending"}]
STEPS_2 = [{"step": "Draft the email", "status": "completed"}, {"step": "Send it", "status": "in_progress"}]


@tool(requires_approval=True)
def send_email(to: str) -> str:
    """Send an email.

    Args:
        to: Recipient address.
    """
    return f"sent to {to}"


def _model() -> ScriptedModel:
    return ScriptedModel(
        [
            call("update_plan", {"steps": STEPS_1}),
            call("update_plan", {"steps": STEPS_2}),
            call("send_email", {"to": "bob@example.com"}),
            call("send_email", {"to": "eve@example.com"}),
            "Sent to Bob; Eve was refused.",
        ]
    )


def _decide(call_: ToolCall, arguments: dict[str, object]) -> Approve | Reject:
    return Reject(message="not Eve") if arguments["to"] == "eve@example.com" else Approve()


async def test_inline_decisions_and_plans_are_recorded(tmp_path: Path) -> None:
    """An inline approver's decisions and each plan update become records, in the order they happened."""
    path = tmp_path / "run.jsonl"
    agent = Agent(_model(), tools=[update_plan, send_email], approve=_decide)
    await agent.run("Email Bob and Eve", trace=path)
    trace = read_trace(path)
    kinds = [m.kind for m in markers(trace)]
    assert kinds == [
        "plan",
        "plan",
        "approval_requested",
        "approval_decided",
        "approval_requested",
        "approval_decided",
    ]
    decided = trace.of_type("approval_decided")
    assert [d["decision"] for d in decided] == ["approve", "reject"]
    assert decided[1]["message"] == "not Eve"
    assert trace.of_type("approval_requested")[0]["arguments"] == {"to": "bob@example.com"}
    assert format_plan(latest_plan(trace)) == ["[x] Draft the email", "[>] Send it"]


async def test_a_pause_is_recorded_with_the_waiting_calls(tmp_path: Path) -> None:
    """A run paused for approval writes a paused record naming the waiting call and its arguments."""
    path = tmp_path / "paused.jsonl"
    agent = Agent(ScriptedModel([call("send_email", {"to": "bob@example.com"})]), tools=[send_email])
    result = await agent.run("Email Bob", trace=path)
    assert result.paused
    (paused,) = read_trace(path).of_type("paused")
    assert [(p["call"]["name"], p["arguments"]) for p in paused["pending"]] == [
        ("send_email", {"to": "bob@example.com"})
    ]


async def test_a_pause_inside_an_agent_tool_names_the_agent(tmp_path: Path) -> None:
    """A call waiting inside an agent used as a tool is recorded with its agent and routing key."""
    path = tmp_path / "nested.jsonl"
    mailer = Agent(
        ScriptedModel([call("send_email", {"to": "bob@example.com"})]), tools=[send_email], name="mailer"
    )
    boss = Agent(ScriptedModel([call("mailer", {"task": "Email Bob"})]), tools=[mailer.as_tool()])
    result = await boss.run("Email Bob", trace=path)
    assert result.paused
    trace = read_trace(path)
    (paused,) = trace.of_type("paused")
    assert [(p["key"], p["agent"], p["call"]["name"]) for p in paused["pending"]] == [
        ("1.0/1.0", "mailer", "send_email")
    ]
    assert "paused: 1 call(s) wait for approval (mailer: send_email)" in [m.text for m in markers(trace)]


async def test_trace_show_and_view_display_them(tmp_path: Path) -> None:
    """``agentkit trace show`` lists decisions and the plan; the HTML view embeds both."""
    path = tmp_path / "run.jsonl"
    await Agent(_model(), tools=[update_plan, send_email], approve=_decide).run("Email", trace=path)
    done = run_cli("trace", "show", str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "approve send_email" in out
    assert "reject send_email: not Eve" in out
    assert out.index("plan:\n") < out.index("[x] Draft the email") < out.index("[>] Send it")
    page = render_html(read_trace(path))
    assert '<ul id="plan"' in page
    assert '<li class="in_progress">[&gt;] Send it</li>' in page
    assert "reject send_email: not Eve" in page


async def test_a_sub_runs_approval_is_recorded_in_the_callers_trace(tmp_path: Path) -> None:
    """The caller's trace records a sub-run's request and decision under the nested key, naming the agent."""
    mailer = Agent(
        ScriptedModel([call("send_email", {"to": "bob@example.com"}), "sent"]),
        name="mailer",
        tools=[send_email],
    )
    boss = Agent(ScriptedModel([call("mailer", {"task": "email Bob"}), "Done"]), tools=[mailer.as_tool()])
    path = tmp_path / "boss.jsonl"
    await boss.run("Email Bob", trace=path, approve=_decide)
    records = [r for r in read_trace(path).records if r["type"].startswith("approval_")]
    assert [(r["type"], r["key"], r["agent"], r["turn"]) for r in records] == [
        ("approval_requested", "1.0/1.0", "mailer", 1),
        ("approval_decided", "1.0/1.0", "mailer", 1),
    ]
