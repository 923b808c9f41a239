"""Human approval of tool calls: decisions, approvers, and the calls that wait.

A tool declared ``@tool(requires_approval=True)`` never runs on the model's
word alone. Before it runs, the loop asks the run's *approver*
(``Agent(approve=...)`` or ``run(..., approve=...)``): a sync or async
callable ``(call, arguments) -> Decision`` receiving the `ToolCall` and
its validated arguments. Without an approver the run *pauses*: it returns a
[`RunResult`][agentkit.RunResult] with ``paused`` true, the waiting calls in
``pending`` and the serialisable ``state``; ``agent.resume(state, decisions)``
continues it later, in this process or another.

Decisions are given by `PendingCall.key`, a key agentkit assigns to each
call (unique in the run), never by the model's ``call.id``: the model chooses
ids and may repeat them, and a decision must only ever apply to the call it
was shown for. Calls of one answer that share an id are the model's error:
none of them runs or waits for a decision; each gets an error result asking
for distinct ids.

>>> from agentkit import Agent, tool
>>> from agentkit.models.function import ScriptedModel, call
>>> @tool(requires_approval=True)
... def send_email(to: str, body: str) -> str:
...     '''Send an email.'''
...     return f"sent to {to}"
>>> model = ScriptedModel([call("send_email", {"to": "bob@example.com", "body": "hi"}), "Done."])
>>> agent = Agent(model, tools=[send_email])
>>> paused = agent.run_sync("Email Bob")
>>> paused.paused, paused.pending[0].arguments["to"]
(True, 'bob@example.com')
>>> paused.pending[0].key
'1.0'
>>> done = agent.resume_sync(paused.state, {paused.pending[0].key: Approve()})
>>> done.output, done.messages[-2].content
('Done.', 'sent to bob@example.com')
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import anyio.to_thread

from agentkit import _json
from agentkit.messages import ToolCall

__all__ = [
    "Approve",
    "Approver",
    "Decision",
    "EditArguments",
    "PendingCall",
    "Reject",
    "approve_all",
    "prompt_approver",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Approve:
    """Run the call as the model asked."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Reject:
    """Do not run the call; the model receives ``message`` as the call's (error) result."""

    message: str = "The user rejected this tool call."


@dataclass(frozen=True, kw_only=True, slots=True)
class EditArguments:
    """Run the call with ``arguments`` instead of the model's (the model is told they changed)."""

    arguments: Mapping[str, Any]


#: What an approver decides for one call.
Decision: TypeAlias = Approve | Reject | EditArguments

#: ``(call, validated_arguments) -> Decision``, sync or async.
Approver: TypeAlias = Callable[[ToolCall, dict[str, Any]], Decision | Awaitable[Decision]]


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingCall:
    """A tool call waiting for a decision: the model's call and its validated arguments.

    ``key`` is the key to give its decision under (``decisions[p.key] = Approve()``):
    agentkit's key for the call (turn and position, see
    [`tool_call_key`][agentkit.messages.tool_call_key]), unique in the run. ``call.id`` is
    the model's and is only sent back on the wire.

    A call waiting inside an agent used as a tool (``agent.as_tool()``) pauses the calling
    run too: its key is the calling call's key, ``/``, the sub-run's key (``"1.0/2.0"``),
    and ``agent`` names the agent whose tool it is (``None`` for the run's own agent).
    """

    key: str
    call: ToolCall
    arguments: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None


def approve_all(call: ToolCall, arguments: dict[str, Any]) -> Decision:
    """An approver that approves every call (the CLI's ``--yes``)."""
    return Approve()


def prompt_approver(ask: Callable[[str], str] = input) -> Approver:
    """An approver asking on the terminal: ``y`` approves, ``n`` rejects, ``e`` edits.

    ``ask(question) -> answer`` is called in a worker thread (default `input`),
    so a waiting prompt never blocks the run's other tasks. An edit answer is
    read as a JSON object of arguments; a rejection may give a reason for the model.
    When the input ends (``EOFError``: Ctrl-D, a closed pipe) the call is rejected:
    no answer is never a yes.

    >>> answers = iter(["e", '{"to": "amy@example.com"}'])
    >>> approver = prompt_approver(lambda question: next(answers))
    >>> import anyio
    >>> anyio.run(approver, ToolCall(id="1", name="send_email", arguments="{}"), {"to": "bob@example.com"})
    EditArguments(arguments={'to': 'amy@example.com'})
    """

    async def approve(call: ToolCall, arguments: dict[str, Any]) -> Decision:
        try:
            return await _ask_until_decided(ask, call, arguments)
        except EOFError:
            return Reject(message="The user gave no answer (input ended); the call did not run.")

    return approve


async def _ask_until_decided(
    ask: Callable[[str], str], call: ToolCall, arguments: dict[str, Any]
) -> Decision:
    shown = _json.dumps(arguments)
    while True:
        answer = await anyio.to_thread.run_sync(ask, f"Run {call.name}({shown})? [y]es/[n]o/[e]dit: ")
        choice = answer.strip().lower()[:1]
        if choice == "y":
            return Approve()
        if choice == "n":
            reason = await anyio.to_thread.run_sync(ask, "Reason for the model (optional): ")
            return Reject(message=reason.strip()) if reason.strip() else Reject()
        if choice == "e":
            edited = await _ask_arguments(ask, shown)
            if edited is not None:
                return EditArguments(arguments=edited)


async def _ask_arguments(ask: Callable[[str], str], shown: str) -> dict[str, Any] | None:
    text = await anyio.to_thread.run_sync(ask, f"New arguments as a JSON object (was {shown}): ")
    try:
        value = _json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
