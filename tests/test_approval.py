"""Approvals: tools that need a decision, inline approvers, pausing, resuming from JSON."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.approval import Approve, EditArguments, Reject, approve_all, prompt_approver
from agentkit.events import ApprovalDecided, ApprovalRequested, Event, RunPaused
from agentkit.exceptions import RunStateError, UsageLimitExceeded
from agentkit.hooks import RunHooks
from agentkit.memory import SQLiteMemory
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage
from agentkit.models.function import ScriptedModel, call
from agentkit.run_state import STATE_VERSION, RunState
from agentkit.usage import UsageLimits
from tests.builders import calls

pytestmark = pytest.mark.anyio

SENT: list[str] = []


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
    return f"{name.lower()}@example.com"


def _agent(*replies: Any, **kwargs: Any) -> Agent[str]:
    return Agent(ScriptedModel(list(replies)), tools=[send_email, lookup], **kwargs)


def _email(to: str = "bob@example.com") -> ToolCall:
    return call("send_email", {"to": to, "body": "hi"})


@pytest.fixture(autouse=True)
def _clear_outbox() -> None:
    SENT.clear()


async def test_call_needing_approval_pauses_the_run_without_running_the_tool() -> None:
    """Without an approver, the run returns paused, with the waiting call and its validated arguments."""
    result = await _agent(_email(), "never reached").run("Email Bob")
    assert result.paused
    assert result.output is None
    assert [p.call.name for p in result.pending] == ["send_email"]
    assert result.pending[0].arguments == {"to": "bob@example.com", "body": "hi"}
    assert SENT == []
    assert isinstance(result.messages[-1], AssistantMessage)


async def test_paused_state_round_trips_through_versioned_json() -> None:
    """The state serialises to JSON with a format and version, and reads back equal."""
    result = await _agent(
        calls(("lookup", {"name": "Amy"}), ("send_email", {"to": "a@x.io", "body": "b"})), "x"
    ).run("go")
    assert result.state is not None
    text = result.state.to_json()
    assert '"format":"agentkit-run-state"' in text
    assert f'"version":{STATE_VERSION}' in text
    assert RunState.from_json(text) == result.state


async def test_resume_in_a_fresh_agent_from_a_file_finishes_the_run(tmp_path: Path) -> None:
    """A state written to a file resumes in a new Agent: results in the model's order, usage summed."""
    first = await _agent(
        calls(("send_email", {"to": "b@x.io", "body": "hi"}), ("lookup", {"name": "Amy"}))
    ).run("go")
    assert first.state is not None
    path = tmp_path / "state.json"
    path.write_text(first.state.to_json())

    fresh = _agent("All done.")
    state = RunState.from_json(path.read_text())
    done = await fresh.resume(state, {state.pending[0].key: Approve()})
    assert done.output == "All done."
    assert not done.paused
    results = [m for m in done.messages if isinstance(m, ToolMessage)]
    assert [r.name for r in results] == ["send_email", "lookup"]
    assert [r.content for r in results] == ["sent to b@x.io", "amy@example.com"]
    assert done.usage.requests == 2
    assert done.usage.tool_calls == 2
    assert done.run_id == first.run_id
    assert done.turns == 2


async def test_reject_sends_the_message_to_the_model_and_skips_the_tool() -> None:
    """A rejection becomes the call's error result, worded as given; the tool never runs."""
    paused = await _agent(_email()).run("Email Bob")
    assert paused.state is not None
    agent = _agent("OK, I won't.")
    done = await agent.resume(paused.state, {paused.pending[0].key: Reject(message="Not Bob, ever.")})
    result = done.messages[-2]
    assert isinstance(result, ToolMessage)
    assert result.is_error
    assert result.content == "Not Bob, ever."
    assert SENT == []
    assert done.output == "OK, I won't."


async def test_edited_arguments_run_and_the_model_is_told() -> None:
    """EditArguments runs the tool with the new arguments and says so in the result."""
    paused = await _agent(_email()).run("Email Bob")
    assert paused.state is not None
    decision = EditArguments(arguments={"to": "amy@example.com", "body": "hi"})
    done = await _agent("Sent to Amy.").resume(paused.state, {paused.pending[0].key: decision})
    assert SENT == ["amy@example.com"]
    result = done.messages[-2]
    assert isinstance(result, ToolMessage)
    assert "changed this call's arguments" in result.content
    assert result.content.endswith("sent to amy@example.com")


async def test_inline_async_approver_decides_and_events_record_it() -> None:
    """An async approver on the agent decides inline; requested/decided events reach the stream."""
    seen: list[tuple[str, dict[str, Any]]] = []

    async def approver(call: ToolCall, arguments: dict[str, Any]) -> Approve:
        seen.append((call.name, arguments))
        return Approve()

    agent = _agent(_email(), "Sent.", approve=approver)
    events: list[Event] = []
    async with agent.stream("Email Bob") as run:
        events.extend([e async for e in run])
    assert run.result.output == "Sent."
    assert SENT == ["bob@example.com"]
    assert seen == [("send_email", {"to": "bob@example.com", "body": "hi"})]
    kinds = [e.kind for e in events if isinstance(e, ApprovalRequested | ApprovalDecided)]
    assert kinds == ["approval_requested", "approval_decided"]
    decided = next(e for e in events if isinstance(e, ApprovalDecided))
    assert decided.decision == "approve"


async def test_run_option_approver_overrides_and_sync_reject_works() -> None:
    """A sync approver passed to run() wins over the agent's and can reject."""
    agent = _agent(_email(), "Understood.", approve=approve_all)
    result = await agent.run("Email Bob", approve=lambda call, args: Reject(message="no"))
    assert SENT == []
    assert result.output == "Understood."


async def test_prompt_approver_reads_answers_from_its_ask_function() -> None:
    """The CLI approver asks again on an unknown answer and turns 'n' + reason into a rejection."""
    answers = iter(["maybe", "n", "wrong address"])
    questions: list[str] = []

    def ask(question: str) -> str:
        questions.append(question)
        return next(answers)

    result = await _agent(_email(), "ok", approve=prompt_approver(ask)).run("Email Bob")
    assert SENT == []
    assert len(questions) == 3
    assert "send_email" in questions[0]
    rejected = result.messages[-2]
    assert isinstance(rejected, ToolMessage)
    assert rejected.content == "wrong address"


async def test_without_decision_resume_pauses_again_and_run_paused_event_carries_state() -> None:
    """Resuming with no decision for a call pauses again, emitting RunPaused with the state."""
    paused = await _agent(_email()).run("Email Bob")
    assert paused.state is not None
    events: list[Event] = []

    class Collect(RunHooks):
        def on_event(self, event: Event) -> None:
            events.append(event)

    again = await _agent().resume(paused.state, hooks=[Collect()])
    assert again.paused
    assert again.pending == paused.pending
    assert any(isinstance(e, RunPaused) and e.state == again.state for e in events)


async def test_bad_decisions_are_refused_before_the_run_continues() -> None:
    """Unknown call ids and edited arguments that fail the schema raise RunStateError."""
    paused = await _agent(_email()).run("Email Bob")
    assert paused.state is not None
    key = paused.pending[0].key
    with pytest.raises(RunStateError, match="no pending call"):
        await _agent().resume(paused.state, {"nope": Approve()})
    with pytest.raises(RunStateError, match="invalid"):
        await _agent().resume(paused.state, {key: EditArguments(arguments={"to": 5})})


def test_unknown_format_or_newer_version_is_refused() -> None:
    """A document of another format, or a newer version, is not read."""
    with pytest.raises(RunStateError, match="not an agentkit run state"):
        RunState.from_json('{"format": "other"}')
    with pytest.raises(RunStateError, match="version"):
        RunState.from_json(f'{{"format": "agentkit-run-state", "version": {STATE_VERSION + 1}}}')


async def test_limits_and_turns_carry_over_into_the_resumed_run() -> None:
    """The paused run's usage limits still apply after resuming."""
    paused = await _agent(_email()).run("Email Bob", usage_limits=UsageLimits(requests=1))
    assert paused.state is not None
    assert paused.state.usage_limits.requests == 1
    with pytest.raises(UsageLimitExceeded, match="requests"):
        await _agent("never").resume(paused.state, {paused.pending[0].key: Approve()})


async def test_session_gets_the_paused_turn_only_once_it_completes(tmp_path: Path) -> None:
    """A paused turn is not stored (no call without its result); after resume it is stored whole."""
    memory = SQLiteMemory(tmp_path / "m.db")
    paused = await _agent(_email(), memory=memory).run("Email Bob", session="s")
    assert paused.state is not None
    assert await memory.load("s") == []
    await _agent("Sent.", memory=memory).resume(paused.state, {paused.pending[0].key: Approve()}, session="s")
    assert [m.role for m in await memory.load("s")] == ["user", "assistant", "tool", "assistant"]


_CHILD = """
import sys
from agentkit import Agent, tool
from agentkit.approval import EditArguments
from agentkit.models.function import ScriptedModel
from agentkit.run_state import RunState

@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    '''Send an email.'''
    return f"sent to {to} by process 2"

state = RunState.from_json(open(sys.argv[1]).read())
agent = Agent(ScriptedModel(["Finished in process 2."]), tools=[send_email])
decision = EditArguments(arguments={"to": "amy@example.com", "body": "hi"})
result = agent.resume_sync(state, {state.pending[0].key: decision})
print(result.output, "|", result.messages[-2].content.splitlines()[-1], "|", result.usage.requests)
"""


async def test_resume_in_another_process(tmp_path: Path) -> None:
    """A state saved by one process is resumed by a separate Python process."""
    paused = await _agent(_email()).run("Email Bob")
    assert paused.state is not None
    state_file = tmp_path / "state.json"
    state_file.write_text(paused.state.to_json())
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD))
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, str(script), str(state_file)])
    assert done.stdout.decode().strip() == "Finished in process 2. | sent to amy@example.com by process 2 | 2"


async def test_prompt_approver_rejects_when_the_input_ends() -> None:
    """Ctrl-D or a closed pipe (EOFError from the ask function) rejects the call, the run goes on."""

    def ask(question: str) -> str:
        raise EOFError

    result = await _agent(_email(), "ok", approve=prompt_approver(ask)).run("Email Bob")
    assert SENT == []
    rejected = result.messages[-2]
    assert isinstance(rejected, ToolMessage)
    assert rejected.is_error
    assert "input ended" in rejected.content
