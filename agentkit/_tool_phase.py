"""The tool phase of a turn: gate the calls, run them, apply the results in the model's order.

Calls of tools that need approval go through [`agentkit._approval`][] first; when
some still wait for a decision the turn pauses ([`Paused`][agentkit._loop_state.Paused]).
Calls are known by their position in the answer (agentkit's key), never by the model's
id; calls of one answer sharing an id are refused, each with an error result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from agentkit._approval import Review, review
from agentkit._early_start import EarlyStarter
from agentkit._log import get_logger
from agentkit._loop_state import Final, LoopConfig, LoopState, Outcome, Paused
from agentkit._nested import SubRunResume
from agentkit._output import OUTPUT_TOOL_NAME, OutputInvalid
from agentkit._run_context import RunContext
from agentkit._tool_runner import CallOutcome, KeyedCall, run_tool_calls
from agentkit.approval import PendingCall
from agentkit.exceptions import OutputValidationError, ToolRetriesExceeded, UsageLimitExceeded
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage, tool_call_key
from agentkit.run_state import CallResult, RunState, nested_pending
from agentkit.usage import Usage

__all__ = ["close_dangling_calls", "count_output_failure", "handle_tool_calls"]

_log = get_logger("agentkit.loop")


async def handle_tool_calls(
    config: LoopConfig, state: LoopState, calls: tuple[ToolCall, ...], early: EarlyStarter | None = None
) -> Outcome:
    """Gate, run and apply one turn's calls; pause when some still wait for a decision."""
    refused = _refuse_repeated_ids(calls, state.carried, early)
    is_output = config.output.tool is not None
    waiting = [
        (i, c)
        for i, c in enumerate(calls)
        if not (is_output and c.name == OUTPUT_TOOL_NAME) and i not in state.carried and i not in refused
    ]
    _check_tool_call_limit(state, len(waiting))
    to_review = [(i, c) for i, c in waiting if i not in state.resumes]  # a resumed sub-run was approved
    gated = (
        Review(run=to_review)
        if state.gate is None
        else await review(to_review, config.toolset, state.gate, turn=state.turn, emit=state.emit)
    )
    run = sorted([*gated.run, *((i, c) for i, c in waiting if i in state.resumes)], key=lambda r: r[0])
    outcomes = dict(zip((i for i, _ in run), await _run_calls(config, state, run, early), strict=True))
    nested = {i: o.paused for i, o in outcomes.items() if o.paused is not None}
    stops = {i: o.stop for i, o in outcomes.items() if o.stop is not None}
    results = gated.annotate(
        {
            **state.carried,
            **refused,
            **gated.answered,
            **{i: _kept(o) for i, o in outcomes.items() if o.paused is None or stops},
        }
    )
    state.charge(Usage(tool_calls=len(waiting) - len(gated.pending) - len(nested)), 0.0, check=False)
    if (gated.pending or nested) and not stops:
        return _pause(config, state, results, [*gated.pending, *nested_pending(state.turn, nested)], nested)
    state.carried, state.resumes = {}, {}
    final = _apply_results(config, state, calls, results, stops)
    state.tool_choice = None  # a forced choice applies until the model has called a tool
    _raise_if_retries_spent(config, state)
    return final


def _refuse_repeated_ids(
    calls: tuple[ToolCall, ...], carried: Mapping[int, CallResult], early: EarlyStarter | None
) -> dict[int, CallResult]:
    """An error result for every call whose id another call of the answer shares (none of them runs).

    Ids are the model's: two calls under one id cannot be told apart on the wire, so each
    is refused and the model asked to call again with distinct ids. A call already started
    mid-stream (only tools needing no approval start early) keeps its result: it ran.
    """
    counts = Counter(c.id for c in calls)
    refused: dict[int, CallResult] = {}
    for index, call in enumerate(calls):
        shared = counts[call.id]
        if shared < 2 or index in carried or (early is not None and early.reusable(index, call)):
            continue
        text = (
            f"Not run: {shared} tool calls in this answer share the id {call.id!r}, so their results "
            "could not be told apart. Call the tools again, each call with its own id."
        )
        message = ToolMessage(tool_call_id=call.id, name=call.name, content=text, is_error=True)
        refused[index] = CallResult(message=message, failed=True)
    return refused


async def _run_calls(
    config: LoopConfig, state: LoopState, run: list[tuple[int, ToolCall]], early: EarlyStarter | None
) -> list[CallOutcome]:
    """Run the turn's calls (reusing those started mid-stream); outcomes in ``run``'s order."""
    reused = {i: found for i, c in run if early is not None and (found := early.reusable(i, c)) is not None}
    if early is not None and len(reused) < len(early.launched):
        _log.warning(
            "early_calls_discarded",
            run_id=state.run_id,
            turn=state.turn,
            count=len(early.launched) - len(reused),
        )
    done = {i: await found.wait() for i, found in reused.items()}  # before the rest: keeps barriers
    keyed = [(tool_call_key(state.turn, i), c) for i, c in run if i not in reused]
    resumes = {tool_call_key(state.turn, i): found for i, found in state.resumes.items()}
    rest = iter(await _run_now(config, state, keyed, resumes))
    return [done[i] if i in done else next(rest) for i, _ in run]


async def _run_now(
    config: LoopConfig, state: LoopState, calls: list[KeyedCall], resumes: Mapping[str, SubRunResume]
) -> list[CallOutcome]:
    if not calls:
        return []
    ctx: RunContext[Any] = RunContext(
        budget=state,
        emit=state.emit,
        deps=state.deps,
        run_id=state.run_id,
        turn=state.turn,
        usage=state.usage,
        messages=tuple(state.messages),
    )
    return await run_tool_calls(
        calls,
        config.toolset,
        ctx,
        emit=state.emit,
        limiter=state.limiter,
        failures=state.failures,
        resumes=resumes,
    )


def _kept(outcome: CallOutcome) -> CallResult:
    return CallResult(message=outcome.message, failed=outcome.failed and outcome.paused is None)


def _apply_results(
    config: LoopConfig,
    state: LoopState,
    calls: tuple[ToolCall, ...],
    results: Mapping[int, CallResult],
    stops: Mapping[int, Any],
) -> Final | None:
    """Append every call's result in the model's order; the first stop or valid output ends the run."""
    final: Final | None = None
    for index, tool_call in enumerate(calls):
        found = results.get(index)
        if found is None and config.output.tool is not None and tool_call.name == OUTPUT_TOOL_NAME:
            message, candidate = _validate_output_call(config, state, tool_call, final is None)
            final = final or candidate
        elif found is None:  # a call still waiting when a tool stopped the run
            message = ToolMessage(
                tool_call_id=tool_call.id, name=tool_call.name, content=_NOT_RUN_STOPPED, is_error=True
            )
        else:
            message = found.message
            if found.failed:
                state.failures[tool_call.name] = state.failures.get(tool_call.name, 0) + 1
            if index in stops and final is None:
                final = Final(output=stops[index].output)
        state.messages.append(message)
    return final


_NOT_RUN_STOPPED = "Not run: another tool call stopped the run while this one waited for approval."


def _pause(
    config: LoopConfig,
    state: LoopState,
    results: dict[int, CallResult],
    pending: list[PendingCall],
    nested: dict[int, RunState],
) -> Paused:
    """Freeze the run: the turn's finished results, waiting calls and paused sub-runs go into the state."""
    saved = RunState(
        run_id=state.run_id,
        agent_name=config.name,
        messages=tuple(state.messages),
        new_messages_start=state.history_len,
        committed=state.committed,
        turn=state.turn,
        usage=state.usage,
        cost_usd=state.cost,
        usage_limits=state.limits,
        max_turns=state.max_turns,
        pending=tuple(pending),
        results=results,
        nested=nested,
        tool_failures=dict(state.failures),
        output_failures=state.output_failures,
        trace=state.trace,
    )
    return Paused(state=saved)


def _validate_output_call(
    config: LoopConfig, state: LoopState, tool_call: ToolCall, first: bool
) -> tuple[ToolMessage, Final | None]:
    if not first:
        return ToolMessage(
            tool_call_id=tool_call.id, name=tool_call.name, content="Ignored: already answered."
        ), None
    try:
        output = config.output.from_tool_arguments(tool_call.arguments)
    except OutputInvalid as invalid:
        count_output_failure(config, state, invalid.message)
        text = f"Invalid final result: {invalid.message}\nFix it and call {OUTPUT_TOOL_NAME!r} again."
        return ToolMessage(tool_call_id=tool_call.id, name=tool_call.name, content=text, is_error=True), None
    message = ToolMessage(tool_call_id=tool_call.id, name=tool_call.name, content="Final result accepted.")
    return message, Final(output=output)


def count_output_failure(config: LoopConfig, state: LoopState, reason: str) -> None:
    state.output_failures += 1
    if state.output_failures > config.output_retries:
        raise OutputValidationError(
            f"the model's output failed validation {state.output_failures} times; last error: {reason}"
        )


def _raise_if_retries_spent(config: LoopConfig, state: LoopState) -> None:
    for name, count in state.failures.items():
        found = config.toolset.get(name)
        budget = found.retries if found is not None and found.retries is not None else config.tool_retries
        if count > budget:
            shown = repr(name) if name else "(empty name)"
            raise ToolRetriesExceeded(f"tool {shown} failed {count} times, more than its {budget} retries")


def _check_tool_call_limit(state: LoopState, count: int) -> None:
    limit = state.limits.tool_calls
    if limit is not None and state.usage.tool_calls + count > limit:
        raise UsageLimitExceeded(f"tool_calls limit of {limit} would be exceeded by {count} more calls")


def close_dangling_calls(messages: list[Message], reason: str) -> None:
    """Give every tool call of the last answer without a result an error result (history stays valid).

    Results are counted per id after that answer only: the model may repeat an id, within
    the answer or from an earlier turn, and each call needs its own result.
    """
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if isinstance(message, AssistantMessage):
            answered = Counter(m.tool_call_id for m in messages[position + 1 :] if isinstance(m, ToolMessage))
            missing: list[ToolCall] = []
            for call in message.tool_calls:
                if answered[call.id] > 0:
                    answered[call.id] -= 1
                else:
                    missing.append(call)
            messages.extend(
                ToolMessage(tool_call_id=c.id, name=c.name, content=reason, is_error=True) for c in missing
            )
            return
