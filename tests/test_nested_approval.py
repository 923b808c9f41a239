"""Approvals inside agents used as tools: the calling run pauses with the sub-run's state and resumes both."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agentkit import Agent, tool
from agentkit.approval import Approve, EditArguments, Reject, approve_all
from agentkit.events import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    FinalResultEvent,
    RunPaused,
    ToolCallFinished,
)
from agentkit.exceptions import RunStateError, StopRun
from agentkit.hooks import RunHooks
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel, call
from agentkit.result import RunResult
from agentkit.run_state import RunState
from tests.builders import calls

pytestmark = pytest.mark.anyio

SENT: list[str] = []
LOOKUPS: list[str] = []


@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: The recipient's address.
        body: The text.
    """
    SENT.append(to)
    return f"sent to {to}"


@tool
def lookup(name: str) -> str:
    """Find a person's email address.

    Args:
        name: Who to look up.
    """
    LOOKUPS.append(name)
    return f"{name.lower()}@example.com"


@tool
def finish(answer: str) -> str:
    """End the run with an answer.

    Args:
        answer: The answer.
    """
    raise StopRun(answer)


@pytest.fixture(autouse=True)
def _clean() -> None:
    SENT.clear()
    LOOKUPS.clear()


def _mailer(*replies: Any) -> Agent[str]:
    return Agent(ScriptedModel(list(replies)), name="mailer", tools=[send_email])


def _boss(mailer: Agent[str], *replies: Any) -> Agent[str]:
    return Agent(ScriptedModel(list(replies)), name="boss", tools=[lookup, mailer.as_tool()])


_SEND = call("send_email", {"to": "bob@example.com", "body": "hi"})
_ASK = call("mailer", {"task": "email Bob hi"})


def _tool_result(result: RunResult[Any], name: str) -> ToolMessage:
    found = [m for m in result.new_messages if isinstance(m, ToolMessage) and m.name == name]
    assert len(found) == 1, found
    return found[0]


async def test_nested_approval_pauses_the_caller_and_approve_finishes_both() -> None:
    """A sub-run's waiting call pauses the caller ("1.0/1.0"); approving it finishes both runs."""
    boss = _boss(_mailer(_SEND, "mail sent"), _ASK, "Done: mail sent")
    paused = await boss.run("email Bob")
    assert paused.paused
    assert paused.state is not None
    [pending] = paused.pending
    assert (pending.key, pending.agent, pending.call.name) == ("1.0/1.0", "mailer", "send_email")
    assert pending.arguments == {"to": "bob@example.com", "body": "hi"}
    assert set(paused.state.nested) == {0}
    assert SENT == []
    done = await boss.resume(paused.state, {pending.key: Approve()})
    assert done.output == "Done: mail sent"
    assert SENT == ["bob@example.com"]
    assert _tool_result(done, "mailer").content == "mail sent"
    assert not _tool_result(done, "mailer").is_error


async def test_nested_reject_goes_to_the_sub_run_model() -> None:
    """Rejecting a sub-run's call gives its model the rejection; its answer is the caller's result."""
    boss = _boss(_mailer(_SEND, "could not send"), _ASK, "Done")
    paused = await boss.run("email Bob")
    assert paused.state is not None
    done = await boss.resume(paused.state, {"1.0/1.0": Reject(message="not to Bob")})
    assert done.output == "Done"
    assert SENT == []
    assert _tool_result(done, "mailer").content == "could not send"


async def test_two_levels_deep_pause_and_resume() -> None:
    """An approval two agents down pauses the top run under "1.0/1.0/1.0" and resumes all three runs."""
    mailer = _mailer(_SEND, "mail sent")
    office = Agent(
        ScriptedModel([call("mailer", {"task": "email Bob"}), "office: mail sent"]),
        name="office",
        tools=[mailer.as_tool()],
    )
    top = Agent(ScriptedModel([call("office", {"task": "email Bob"}), "top: done"]), tools=[office.as_tool()])
    paused = await top.run("email Bob")
    assert paused.state is not None
    assert [(p.key, p.agent) for p in paused.pending] == [("1.0/1.0/1.0", "mailer")]
    assert set(paused.state.nested[0].nested) == {0}
    done = await top.resume(paused.state, {"1.0/1.0/1.0": Approve()})
    assert done.output == "top: done"
    assert SENT == ["bob@example.com"]
    assert _tool_result(done, "office").content == "office: mail sent"


async def test_parallel_sibling_result_is_kept_and_not_run_again() -> None:
    """A call that ran beside the paused agent call keeps its result and does not run again."""
    boss = _boss(
        _mailer(_SEND, "mail sent"),
        calls(("lookup", {"name": "Bob"}), ("mailer", {"task": "email Bob hi"})),
        "Done",
    )
    paused = await boss.run("email Bob")
    assert paused.state is not None
    assert [p.key for p in paused.pending] == ["1.1/1.0"]
    done = await boss.resume(paused.state, {"1.1/1.0": Approve()})
    assert done.output == "Done"
    assert LOOKUPS == ["Bob"]
    results = [m for m in done.new_messages if isinstance(m, ToolMessage)]
    assert [(m.name, m.content) for m in results] == [("lookup", "bob@example.com"), ("mailer", "mail sent")]


async def test_saved_state_resumes_in_fresh_agents() -> None:
    """The paused state survives JSON and resumes with new Agent objects (as in another process)."""
    paused = await _boss(_mailer(_SEND, "unused"), _ASK, "unused").run("email Bob")
    assert paused.state is not None
    text = paused.state.to_json()
    document = orjson.loads(text)
    assert document["nested"][0]["index"] == 0
    assert document["nested"][0]["state"]["agent_name"] == "mailer"
    loaded = RunState.from_json(text)
    assert loaded == paused.state
    fresh = _boss(_mailer("mail sent"), "Done: fresh")
    done = await fresh.resume(
        loaded, {"1.0/1.0": EditArguments(arguments={"to": "amy@example.com", "body": "hi"})}
    )
    assert done.output == "Done: fresh"
    assert SENT == ["amy@example.com"]


async def test_resume_stream_continues_the_sub_run() -> None:
    """resume_stream finishes the sub-run and streams the caller's tool call and final result."""
    boss = _boss(_mailer(_SEND, "mail sent"), _ASK, "Done")
    paused = await boss.run("email Bob")
    assert paused.state is not None
    events = []
    async with boss.resume_stream(paused.state, {"1.0/1.0": Approve()}) as run:
        async for event in run:
            events.append(event)
    assert run.result.output == "Done"
    assert SENT == ["bob@example.com"]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [(e.key, e.result.content) for e in finished] == [("1.0", "mail sent")]
    assert isinstance(events[-1], FinalResultEvent)


async def test_caller_pauses_again_when_the_sub_run_does() -> None:
    """A sub-run asking for a second approval pauses the caller again, keyed by the sub-run's new turn."""
    again = call("send_email", {"to": "amy@example.com", "body": "hi"})
    boss = _boss(_mailer(_SEND, again, "both sent"), _ASK, "Done")
    paused = await boss.run("email Bob and Amy")
    assert paused.state is not None
    second = await boss.resume(paused.state, {"1.0/1.0": Approve()})
    assert second.state is not None
    assert [p.key for p in second.pending] == ["1.0/2.0"]
    done = await boss.resume(second.state, {"1.0/2.0": Approve()})
    assert done.output == "Done"
    assert SENT == ["bob@example.com", "amy@example.com"]


async def test_run_paused_event_lists_the_nested_call() -> None:
    """The caller's RunPaused event lists the sub-run's waiting call under its routing key."""
    boss = _boss(_mailer(_SEND), _ASK)
    seen: list[RunPaused] = []
    async with boss.stream("email Bob") as run:
        async for event in run:
            if isinstance(event, RunPaused):
                seen.append(event)
    assert [p.key for p in seen[0].pending] == ["1.0/1.0"]


async def test_bad_nested_decisions_are_refused_before_anything_runs() -> None:
    """An unknown nested key or an edit the sub-run's tool refuses raises RunStateError; nothing ran."""
    boss = _boss(_mailer(_SEND, "mail sent"), _ASK, "Done")
    paused = await boss.run("email Bob")
    assert paused.state is not None
    with pytest.raises(RunStateError, match=r"1\.0/9\.0"):
        await boss.resume(paused.state, {"1.0/9.0": Approve()})
    with pytest.raises(
        RunStateError, match=r"paused run of 'mailer' \(call '1\.0'\): edited arguments for '1\.0'"
    ):
        await boss.resume(paused.state, {"1.0/1.0": EditArguments(arguments={"to": 3})})
    assert SENT == []


async def test_the_callers_approver_decides_for_the_sub_run() -> None:
    """A caller run with an approver approves the sub-run's calls too (the sub-run's agent has none)."""
    boss = _boss(_mailer(_SEND, "mail sent"), _ASK, "Done")
    done = await boss.run("email Bob", approve=approve_all)
    assert not done.paused
    assert done.output == "Done"
    assert SENT == ["bob@example.com"]


async def test_a_version_2_state_still_loads() -> None:
    """A state saved before nested runs existed (version 2, no "nested") loads and resumes."""
    agent = Agent(ScriptedModel([_SEND, "sent"]), tools=[send_email])
    paused = await agent.run("email Bob")
    assert paused.state is not None
    document = paused.state.to_dict()
    document["version"] = 2
    del document["nested"]
    for pending in document["pending"]:
        del pending["agent"]
    loaded = RunState.from_dict(document)
    assert loaded == paused.state
    done = await Agent(ScriptedModel(["sent"]), tools=[send_email]).resume(loaded, {"1.0": Approve()})
    assert done.output == "sent"


async def test_a_nested_state_at_a_call_with_a_result_is_refused() -> None:
    """A document whose nested state sits at a call that already has a result is malformed."""
    paused = await _boss(_mailer(_SEND), calls(("lookup", {"name": "Bob"}), ("mailer", {"task": "x"}))).run(
        "email Bob"
    )
    assert paused.state is not None
    document = paused.state.to_dict()
    document["nested"][0]["index"] = 0  # the lookup call, which has a result
    with pytest.raises(RunStateError, match=r"nested run state sits at '1\.0'"):
        RunState.from_dict(document)


async def test_a_sibling_stop_ends_the_run_despite_a_paused_sub_run() -> None:
    """A call that stops the run wins over a sub-run's pause: the agent call gets an error result."""
    mailer = _mailer(_SEND)
    boss = Agent(
        ScriptedModel([calls(("mailer", {"task": "email Bob"}), ("finish", {"answer": "stopped"}))]),
        tools=[mailer.as_tool(), finish],
    )
    done = await boss.run("email Bob")
    assert not done.paused
    assert done.output == "stopped"
    result = _tool_result(done, "mailer")
    assert result.is_error
    assert "stopped to wait for approval of send_email" in result.content
    assert SENT == []


class _Approvals(RunHooks):
    """Keeps the approval events a run's hooks receive."""

    def __init__(self) -> None:
        self.events: list[ApprovalRequested | ApprovalDecided] = []

    def on_event(self, event: Event) -> None:
        if isinstance(event, ApprovalRequested | ApprovalDecided):
            self.events.append(event)


async def test_nested_approval_events_reach_the_callers_hooks() -> None:
    """Caller hooks get the sub-run's ApprovalRequested, and on resume its ApprovalDecided (nested key)."""
    boss = _boss(_mailer(_SEND, "mail sent"), _ASK, "Done")
    hooks = _Approvals()
    paused = await boss.run("email Bob", hooks=[hooks])
    assert paused.state is not None
    [requested] = hooks.events
    assert isinstance(requested, ApprovalRequested)
    assert (requested.key, requested.agent, requested.turn) == ("1.0/1.0", "mailer", 1)
    assert (requested.call.name, requested.arguments) == (
        "send_email",
        {"to": "bob@example.com", "body": "hi"},
    )
    resumed = _Approvals()
    await boss.resume(paused.state, {"1.0/1.0": Approve()}, hooks=[resumed])
    assert [(type(e).__name__, e.key, e.agent) for e in resumed.events] == [
        ("ApprovalDecided", "1.0/1.0", "mailer")
    ]


async def test_nested_approval_events_reach_the_callers_stream_before_it_pauses() -> None:
    """A stream consumer sees the sub-run's ApprovalRequested (routing key) before the caller's RunPaused."""
    boss = _boss(_mailer(_SEND), _ASK)
    async with boss.stream("email Bob") as run:
        events = [e async for e in run if isinstance(e, ApprovalRequested | RunPaused)]
    assert [type(e).__name__ for e in events] == ["ApprovalRequested", "RunPaused"]
    requested, paused = events
    assert isinstance(requested, ApprovalRequested)
    assert isinstance(paused, RunPaused)
    assert requested.key == paused.pending[0].key == "1.0/1.0"


async def test_two_levels_deep_events_carry_the_full_key_and_the_inner_agent() -> None:
    """An approval two agents down reaches the top run's hooks as "1.0/1.0/1.0", decided by its approver."""
    mailer = _mailer(_SEND, "mail sent")
    office = Agent(
        ScriptedModel([call("mailer", {"task": "email Bob"}), "office: mail sent"]),
        name="office",
        tools=[mailer.as_tool()],
    )
    top = Agent(ScriptedModel([call("office", {"task": "email Bob"}), "top: done"]), tools=[office.as_tool()])
    hooks = _Approvals()
    done = await top.run("email Bob", hooks=[hooks], approve=approve_all)
    assert done.output == "top: done"
    assert [(type(e).__name__, e.key, e.agent) for e in hooks.events] == [
        ("ApprovalRequested", "1.0/1.0/1.0", "mailer"),
        ("ApprovalDecided", "1.0/1.0/1.0", "mailer"),
    ]
