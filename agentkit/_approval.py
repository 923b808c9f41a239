"""The approval gate: before a turn's calls run, gate those of tools that ``requires_approval``.

`Gate` is a stage of the tool phase (see `agentkit._turn_calls`): it leaves
calls to run (approved, possibly with edited arguments), answers some without running
(rejected) and takes out those left waiting (no decision yet: the run pauses). It emits
[`ApprovalRequested`][agentkit.events.ApprovalRequested] and
[`ApprovalDecided`][agentkit.events.ApprovalDecided] events, so traces and UIs see every
decision. Calls whose arguments fail validation are not gated: they run and
fail as usual, and the model is asked to fix them. Every call is known by
agentkit's key (turn and position in the answer), never by the model's id.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentkit import _json
from agentkit._nested import split_decisions
from agentkit.approval import Approve, Approver, Decision, EditArguments, PendingCall, Reject
from agentkit.events import ApprovalDecided, ApprovalRequested, Event
from agentkit.exceptions import RunStateError, ToolArgumentsError, UserError
from agentkit.messages import ToolCall, ToolMessage, tool_call_key
from agentkit.run_state import CallResult, RunState

if TYPE_CHECKING:
    from agentkit._loop_state import LoopConfig, LoopState
    from agentkit._turn_calls import TurnCalls
    from agentkit.tool import Toolset

__all__ = ["Gate", "check_decisions", "needs_gate"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Gate:
    """The approval stage of the tool phase: who decides on the calls that need approval.

    Decisions given up front (by call key) come first, then the approver; without either
    the call waits and the run pauses.
    """

    approver: Approver | None = None
    decisions: Mapping[str, Decision] = field(default_factory=dict)

    async def __call__(self, config: LoopConfig, state: LoopState, calls: TurnCalls) -> None:
        """Decide on every call of ``calls.todo`` that needs approval; the others pass through.

        Calls started mid-stream and calls continuing a paused sub-run passed this gate before.
        """
        for index, call in sorted(calls.todo.items()):
            if index in calls.started or index in calls.resumes:
                continue
            found = config.toolset.get(call.name)
            arguments = (
                _validated(found.validate_arguments, call) if found and found.requires_approval else None
            )
            if arguments is not None:
                await self._decide(calls, index, call, arguments, turn=state.record.turn, emit=state.emit)

    async def _decide(
        self,
        calls: TurnCalls,
        index: int,
        call: ToolCall,
        arguments: dict[str, Any],
        *,
        turn: int,
        emit: Callable[[Event], None],
    ) -> None:
        key = tool_call_key(turn, index)
        decision = self.decisions.get(key)
        if decision is None:
            emit(ApprovalRequested(turn=turn, call=call, key=key, arguments=arguments))
            if self.approver is None:
                calls.todo.pop(index)
                calls.pending.append(PendingCall(key=key, call=call, arguments=arguments))
                return
            decision = await _ask(self.approver, call, arguments)
        _apply(calls, index, call, arguments, decision, key=key, turn=turn, emit=emit)


_EDITED_NOTE = "Note: the user changed this call's arguments before it ran.\n"


def needs_gate(toolset: Toolset) -> bool:
    """Whether any tool of ``toolset`` needs approval (when none does, the stage is left out)."""
    return any(t.requires_approval for t in toolset)


def _validated(validate: Callable[[str], dict[str, Any]], call: ToolCall) -> dict[str, Any] | None:
    try:
        return validate(call.arguments)
    except ToolArgumentsError:
        return None  # not gated: it runs, fails validation, and the model is asked to fix it
    except Exception:  # a validator raising anything else: the runner fails the call the same way
        return None


async def _ask(approver: Approver, call: ToolCall, arguments: dict[str, Any]) -> Decision:
    decision = approver(call, dict(arguments))
    if inspect.isawaitable(decision):
        decision = await decision
    if not isinstance(decision, Approve | Reject | EditArguments):
        raise UserError(f"an approver must return Approve, Reject or EditArguments, not {decision!r}")
    return decision


def _apply(
    calls: TurnCalls,
    index: int,
    call: ToolCall,
    arguments: dict[str, Any],
    decision: Decision,
    *,
    key: str,
    turn: int,
    emit: Callable[[Event], None],
) -> None:
    if isinstance(decision, Reject):
        message = ToolMessage(tool_call_id=call.id, name=call.name, content=decision.message, is_error=True)
        calls.settle(index, CallResult(message=message))
        emit(ApprovalDecided(turn=turn, call=call, key=key, decision="reject", message=decision.message))
    elif isinstance(decision, EditArguments):
        edited = dict(decision.arguments)
        calls.todo[index] = replace(call, arguments=_json.dumps(edited))
        calls.notes[index] = _EDITED_NOTE
        emit(ApprovalDecided(turn=turn, call=call, key=key, decision="edit", arguments=edited))
    else:
        emit(ApprovalDecided(turn=turn, call=call, key=key, decision="approve", arguments=arguments))


async def check_decisions(
    state: RunState, decisions: Mapping[str, Decision], toolset: Toolset
) -> dict[str, Decision]:
    """Check decisions given to ``resume`` (keyed by `PendingCall.key`) before the run continues.

    Decisions for the calls of a paused sub-run (keys ``"<call key>/<sub-run key>"``) are
    checked by the tool that runs the sub-run's agent, against that agent's tools.

    Raises:
        RunStateError: a decision names no pending call's key (a model's call id is not a
            key), is not a decision, or edits the arguments into ones the tool's schema refuses.
    """
    pending = {p.key: p.call for p in state.pending}
    for key, decision in decisions.items():
        if key not in pending:
            raise RunStateError(_unknown_key(key, state))
        if not isinstance(decision, Approve | Reject | EditArguments):
            raise RunStateError(f"the decision for {key!r} must be Approve, Reject or EditArguments")
    own, by_call = split_decisions(decisions)
    for key, decision in own.items():
        _check_own(key, pending[key], decision, toolset)
    positions = {tool_call_key(state.turn, i): i for i in state.nested}
    for outer, inner in by_call.items():
        index = positions[outer]  # the key is pending, so its sub-run is there
        call = state.paused_message.tool_calls[index]
        found = toolset.get(call.name)
        if found is None or found.sub_runs is None:
            raise RunStateError(f"this agent has no agent tool {call.name!r} (pending call {outer!r})")
        try:
            await found.sub_runs.check_decisions(state.nested[index], inner)
        except RunStateError as err:  # keys in the sub-run's message are relative to it: say whose
            raise RunStateError(f"in the paused run of {call.name!r} (call {outer!r}): {err}") from None
    return dict(decisions)


def _check_own(key: str, call: ToolCall, decision: Decision, toolset: Toolset) -> None:
    found = toolset.get(call.name)
    if found is None:
        raise RunStateError(f"this agent has no tool {call.name!r} (pending call {key!r})")
    if isinstance(decision, EditArguments):
        try:
            found.validate_arguments(_json.dumps(dict(decision.arguments)))
        except ToolArgumentsError as err:
            raise RunStateError(f"edited arguments for {key!r} are invalid: {err.message}") from None


def _unknown_key(key: object, state: RunState) -> str:
    keys = sorted(p.key for p in state.pending)
    text = f"no pending call has key {key!r}; pending keys: {keys}"
    if any(p.call.id == key for p in state.pending):
        text += " (decisions are keyed by PendingCall.key, not by the model's call id)"
    return text
