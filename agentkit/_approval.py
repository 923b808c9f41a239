"""The approval step: before a turn's calls run, gate those of tools that ``requires_approval``.

`review` sorts a turn's calls into those to run (approved, possibly with
edited arguments), those answered without running (rejected) and those left
waiting (no decision yet: the run pauses). It emits
[`ApprovalRequested`][agentkit.messages.ApprovalRequested] and
[`ApprovalDecided`][agentkit.messages.ApprovalDecided] events, so traces and UIs see every
decision. Calls whose arguments fail validation are not gated: they run and
fail as usual, and the model is asked to fix them. Every call is known by
agentkit's key (turn and position in the answer), never by the model's id.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentkit import _json
from agentkit._nested import split_decisions
from agentkit.approval import Approve, Approver, Decision, EditArguments, PendingCall, Reject
from agentkit.exceptions import RunStateError, ToolArgumentsError, UserError
from agentkit.messages import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    ToolCall,
    ToolMessage,
    tool_call_key,
)
from agentkit.run_state import CallResult, RunState

if TYPE_CHECKING:
    from agentkit.tool import Toolset

__all__ = ["Gate", "Review", "check_decisions", "needs_gate", "review"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Gate:
    """Who decides: decisions given up front (by call key), then the approver, else the call waits."""

    approver: Approver | None = None
    decisions: Mapping[str, Decision] = field(default_factory=dict)


@dataclass(kw_only=True, slots=True)
class Review:
    """The calls of a turn after approval, each keyed by its position in the assistant message."""

    run: list[tuple[int, ToolCall]] = field(default_factory=list)
    answered: dict[int, CallResult] = field(default_factory=dict)
    pending: list[PendingCall] = field(default_factory=list)
    edited: set[int] = field(default_factory=set)

    def annotate(self, results: dict[int, CallResult]) -> dict[int, CallResult]:
        """Tell the model which results came from arguments the user edited."""
        for index in self.edited:
            found = results.get(index)
            if found is not None:
                note = "Note: the user changed this call's arguments before it ran.\n"
                message = replace(found.message, content=note + found.message.content)
                results[index] = replace(found, message=message)
        return results


def needs_gate(toolset: Toolset) -> bool:
    """Whether any tool of ``toolset`` needs approval (when none does, the step is skipped)."""
    return any(t.requires_approval for t in toolset)


async def review(
    calls: Sequence[tuple[int, ToolCall]],
    toolset: Toolset,
    gate: Gate,
    *,
    turn: int,
    emit: Callable[[Event], None],
) -> Review:
    """Decide on every call that needs approval; the others pass through to ``run``."""
    out = Review()
    for index, call in calls:
        found = toolset.get(call.name)
        arguments = _validated(found.validate_arguments, call) if found and found.requires_approval else None
        if arguments is None:
            out.run.append((index, call))
            continue
        key = tool_call_key(turn, index)
        decision = gate.decisions.get(key)
        if decision is None:
            emit(ApprovalRequested(turn=turn, call=call, key=key, arguments=arguments))
            if gate.approver is None:
                out.pending.append(PendingCall(key=key, call=call, arguments=arguments))
                continue
            decision = await _ask(gate.approver, call, arguments)
        _apply(out, index, call, arguments, decision, turn=turn, emit=emit)
    return out


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
    out: Review,
    index: int,
    call: ToolCall,
    arguments: dict[str, Any],
    decision: Decision,
    *,
    turn: int,
    emit: Callable[[Event], None],
) -> None:
    key = tool_call_key(turn, index)
    if isinstance(decision, Reject):
        message = ToolMessage(tool_call_id=call.id, name=call.name, content=decision.message, is_error=True)
        out.answered[index] = CallResult(message=message)
        emit(ApprovalDecided(turn=turn, call=call, key=key, decision="reject", message=decision.message))
    elif isinstance(decision, EditArguments):
        edited = dict(decision.arguments)
        out.run.append((index, replace(call, arguments=_json.dumps(edited))))
        out.edited.add(index)
        emit(ApprovalDecided(turn=turn, call=call, key=key, decision="edit", arguments=edited))
    else:
        out.run.append((index, call))
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
