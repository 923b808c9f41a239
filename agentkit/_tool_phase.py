"""The tool phase of a turn, a pipeline of stages: plan -> gate -> execute -> apply.

Each stage reads and updates the turn's `agentkit._turn_calls.TurnCalls`:

- plan: `Carried` (a resumed turn: the results of calls that ran before the pause, and
  the paused sub-runs to continue), the `agentkit._early_start.EarlyStarter` (a
  streamed turn: calls started mid-stream), `refuse_repeated_ids`,
  `set_aside_output` (the structured-output tool's calls, answered at apply) and
  `check_tool_call_limit`;
- gate: `agentkit._approval.Gate` (approvals), present when a tool needs approval;
- execute: `execute` runs what is left, concurrently, reusing early launches;
- apply: `agentkit._tool_apply.apply` pauses the run or appends every result in the
  model's order.

A run's stages are fixed when it starts (`tool_stages`); a turn adds its own in front
(`handle_tool_calls`' ``first``). Calls are known by their position in the answer
(agentkit's key), never by the model's id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentkit._approval import Gate
from agentkit._loop_state import LoopConfig, LoopState, Outcome
from agentkit._nested import SubRunResume, split_decisions
from agentkit._output import OUTPUT_TOOL_NAME
from agentkit._tool_apply import apply
from agentkit._tool_runner import CallOutcome, KeyedCall, run_tool_calls
from agentkit._turn_calls import Stage, TurnCalls
from agentkit.approval import Decision
from agentkit.exceptions import UsageLimitExceeded
from agentkit.messages import ToolCall, ToolMessage, tool_call_key
from agentkit.run_state import CallResult, RunRecord

__all__ = [
    "Carried",
    "check_tool_call_limit",
    "execute",
    "handle_tool_calls",
    "refuse_repeated_ids",
    "set_aside_output",
    "tool_stages",
]


async def handle_tool_calls(
    config: LoopConfig, state: LoopState, calls: tuple[ToolCall, ...], first: Sequence[Stage] = ()
) -> Outcome:
    """Take one turn's calls through ``first`` and the run's stages, then apply the results."""
    turn = TurnCalls.of(calls)
    for stage in (*first, *state.stages):
        await stage(config, state, turn)
    return await apply(config, state, turn)


def tool_stages(config: LoopConfig, gate: Gate | None) -> tuple[Stage, ...]:
    """A run's stages after the turn's own: plan, the approval gate when there is one, execute."""
    plan: tuple[Stage, ...] = (refuse_repeated_ids,)
    if config.output.tool is not None:
        plan = (*plan, set_aside_output)
    return (*plan, check_tool_call_limit, *(() if gate is None else (gate,)), execute)


@dataclass(frozen=True, kw_only=True, slots=True)
class Carried:
    """A resumed turn's first stage: what the paused run had done, and its paused sub-runs.

    The calls that ran before the pause keep their results (taken from the run's record);
    a call whose sub-run paused continues it, with the decisions keyed for it.
    """

    resumes: Mapping[int, SubRunResume]

    @classmethod
    def of(cls, record: RunRecord, decisions: Mapping[str, Decision]) -> Carried:
        """The carried stage of a record thawed from a paused state, given the resume's decisions."""
        _, by_call = split_decisions(decisions)
        resumes = {
            index: SubRunResume(state=sub, decisions=by_call.get(tool_call_key(record.turn, index), {}))
            for index, sub in record.nested.items()
        }
        return cls(resumes=resumes)

    async def __call__(self, config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
        """Settle the carried results; mark the calls whose sub-runs continue."""
        for index, result in state.record.results.items():
            calls.settle(index, result)
        calls.resumes = dict(self.resumes)
        state.record.results, state.record.nested = {}, {}  # the apply stage saves them again on a pause


async def refuse_repeated_ids(config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
    """An error result for every call whose id another call of the answer shares (none of them runs).

    Ids are the model's: two calls under one id cannot be told apart on the wire, so each
    is refused and the model asked to call again with distinct ids. A call already started
    mid-stream (only tools needing no approval start early) keeps its result: it ran.
    """
    if len({c.id for c in calls.calls}) == len(calls.calls):
        return  # the usual answer: every id distinct
    counts = Counter(c.id for c in calls.calls)
    for index, call in list(calls.todo.items()):
        shared = counts[call.id]
        if shared < 2 or index in calls.started:
            continue
        text = (
            f"Not run: {shared} tool calls in this answer share the id {call.id!r}, so their results "
            "could not be told apart. Call the tools again, each call with its own id."
        )
        message = ToolMessage(tool_call_id=call.id, name=call.name, content=text, is_error=True)
        calls.settle(index, CallResult(message=message, failed=True))


async def set_aside_output(config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
    """The structured-output tool's calls do not execute: the apply stage validates them."""
    for index, call in list(calls.todo.items()):
        if call.name == OUTPUT_TOOL_NAME:
            del calls.todo[index]
            calls.set_aside.add(index)


async def check_tool_call_limit(config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
    """Refuse the turn when its calls would pass the run's ``tool_calls`` limit."""
    calls.counted = count = len(calls.todo)
    limit = state.record.usage_limits.tool_calls
    if limit is not None and state.record.usage.tool_calls + count > limit:
        raise UsageLimitExceeded(f"tool_calls limit of {limit} would be exceeded by {count} more calls")


async def execute(config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
    """Run the calls left (reusing those started mid-stream); outcomes by position."""
    run = sorted(calls.todo.items())
    done = {i: await found.wait() for i, found in calls.started.items()}  # before the rest: keeps barriers
    turn = state.record.turn
    keyed = [(tool_call_key(turn, i), c) for i, c in run if i not in done]
    resumes = {tool_call_key(turn, i): r for i, r in calls.resumes.items()}
    outcomes = iter(await _run_now(config, state, keyed, resumes))
    calls.outcomes = {i: done[i] if i in done else next(outcomes) for i, _ in run}


async def _run_now(
    config: LoopConfig, state: LoopState, calls: list[KeyedCall], resumes: Mapping[str, SubRunResume]
) -> list[CallOutcome]:
    if not calls:
        return []
    record = state.record
    ctx = state.turn_context()
    return await run_tool_calls(
        calls,
        config.toolset,
        ctx,
        emit=state.emit,
        limiter=state.limiter,
        failures=record.tool_failures,
        resumes=resumes,
    )
