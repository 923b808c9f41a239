"""Agents as tools: one agent calls another like any tool (``agent.as_tool(...)``).

The sub-run is a full run of the inner agent, working for the tool call that
started it:

- it charges its usage and cost to the calling run as it goes (through
  ``RunContext.budget``), so the caller's limits apply to both and the caller's
  [`RunResult`][agentkit.RunResult] includes the sub-run's usage and cost; the inner
  agent's own limits apply too;
- its [`RunStarted`][agentkit.events.RunStarted] names the caller's run and tool call
  (``parent_run_id``, ``parent_tool_call_key``), so a trace can nest it;
- its approval events ([`ApprovalRequested`][agentkit.events.ApprovalRequested],
  [`ApprovalDecided`][agentkit.events.ApprovalDecided]) reach the caller's hooks and stream
  too, under the key decisions are given under (``"<call key>/<sub-run key>"``) and with
  ``agent`` set; its other events go to its own hooks only;
- it keeps its own conversation: a memory session when ``session=`` is given
  (the inner agent needs a ``memory``), else a fresh one per call;
- it gets the caller's ``deps``, and the caller's approver when it has none of its own.

When the sub-run pauses (a call of one of its tools waits for approval), the calling
run pauses too: its state holds the sub-run's (``RunState.nested``) and its ``pending``
lists the sub-run's waiting calls under keys that route the decisions
(``"<call key>/<sub-run key>"``). Resuming the calling run continues the sub-run with
those decisions, and the sub-run's answer becomes the tool call's result.

Several calls of agent tools in one turn run concurrently, like any other calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentkit._loop_state import Parent
from agentkit._nested import SubRunPaused, inherited_approver, take_resume
from agentkit._run_context import RunContext
from agentkit.approval import Decision
from agentkit.events import ApprovalDecided, ApprovalRequested, Event
from agentkit.result import RunOptions, RunResult
from agentkit.run_state import NESTED_KEY_SEPARATOR, RunState
from agentkit.tool import Tool, serialize_result, tool

if TYPE_CHECKING:
    from agentkit.agent import Agent

__all__ = ["agent_tool"]


def agent_tool(
    agent: Agent[Any], *, name: str | None = None, description: str | None = None, session: str | None = None
) -> Tool:
    """Return a `Tool` that runs ``agent`` on the task the model gives it."""
    tool_name = name or agent.name
    text = description or f"Ask the {agent.name} agent to carry out a task; it answers with its result."

    async def run_agent(ctx: RunContext[Any], task: str) -> str:
        """Run the agent.

        Args:
            ctx: The calling run (injected, not shown to the model).
            task: What the agent should do, with everything it needs to know.
        """
        result = await _sub_run(agent, task, ctx, session)
        if result.state is not None:
            raise SubRunPaused(
                result.state,
                f"The {agent.name} agent stopped to wait for approval of "
                f"{', '.join(p.call.name for p in result.pending)}; it cannot finish this task now.",
            )
        return serialize_result(result.output)

    made = tool(run_agent, name=tool_name, description=text)
    return dataclasses.replace(made, sub_runs=_Checker(agent, session))


async def _sub_run(agent: Agent[Any], task: str, ctx: RunContext[Any], session: str | None) -> RunResult[Any]:
    """Run ``agent`` for the tool call ``ctx`` belongs to, or continue its paused run.

    Its events go to its own hooks; its approval events also go to the caller's.
    """
    resume = take_resume()
    options = RunOptions(deps=ctx.deps, session=session)
    if resume is None:
        prepared = await agent.prepare(options)
    else:
        prepared = await agent.prepare(options, state=resume.state, decisions=resume.decisions)
    parent = (
        None
        if ctx.budget is None
        else Parent(
            budget=ctx.budget,
            run_id=ctx.run_id,
            tool_call_id=ctx.tool_call_id,
            tool_call_key=ctx.tool_call_key,
            approve=inherited_approver(),
        )
    )
    emit = _approvals_to_caller(ctx, agent.name)
    return await prepared.execute(None if resume is not None else task, emit, parent=parent)


def _approvals_to_caller(ctx: RunContext[Any], agent_name: str) -> Callable[[Event], None]:
    """Hand the sub-run's approval events to the calling run, keyed as its decisions are."""
    caller_emit, call_key = ctx.emit, ctx.tool_call_key

    def emit(event: Event) -> None:
        if caller_emit is None or call_key is None:
            return
        if isinstance(event, ApprovalRequested | ApprovalDecided):
            key = f"{call_key}{NESTED_KEY_SEPARATOR}{event.key}"
            caller_emit(dataclasses.replace(event, key=key, turn=ctx.turn, agent=event.agent or agent_name))

    return emit


@dataclasses.dataclass(frozen=True, slots=True)
class _Checker:
    """Checks decisions for the agent's paused run before the calling run resumes."""

    agent: Agent[Any]
    session: str | None

    async def check_decisions(self, state: RunState, decisions: Mapping[str, Decision]) -> None:
        await self.agent.prepare(RunOptions(), state=state, decisions=decisions)
