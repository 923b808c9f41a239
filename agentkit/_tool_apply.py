"""The tool phase's last stage: pause the run, or put every result into the conversation.

When calls wait for a decision (or an agent used as a tool paused) and no tool stopped the
run, the run's record is frozen into the saved [`RunState`][agentkit.run_state.RunState], with
the turn's finished results and paused sub-runs. Otherwise every call's result is appended
in the model's order: the structured-output tool's calls are validated here, and the first
stop or valid output ends the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from agentkit._loop_state import Final, LoopConfig, LoopState, Outcome, Paused
from agentkit._output import OUTPUT_TOOL_NAME, OutputInvalid
from agentkit._turn_calls import TurnCalls
from agentkit.exceptions import OutputValidationError, ToolRetriesExceeded
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage
from agentkit.run_state import CallResult, nested_pending
from agentkit.usage import Usage

__all__ = ["apply", "close_dangling_calls", "count_output_failure"]


async def apply(config: LoopConfig, state: LoopState, calls: TurnCalls) -> Outcome:
    """Pause when calls wait (and nothing stopped the run), else apply the turn's results."""
    stops, nested = calls.stops, calls.nested
    results = calls.finished(with_paused=bool(stops))
    executed = calls.counted - len(calls.pending) - len(nested)  # waiting calls count when they run
    state.charge(Usage(tool_calls=executed), 0.0, check=False)
    if (calls.pending or nested) and not stops:
        record = state.record
        record.results, record.nested = results, nested
        pending = (*calls.pending, *nested_pending(record.turn, nested))
        return Paused(state=record.freeze(pending))
    final = _apply_results(config, state, calls.calls, results, stops)
    state.tool_choice = None  # a forced choice applies until the model has called a tool
    _raise_if_retries_spent(config, state)
    return final


def _apply_results(
    config: LoopConfig,
    state: LoopState,
    calls: tuple[ToolCall, ...],
    results: Mapping[int, CallResult],
    stops: Mapping[int, Any],
) -> Final | None:
    """Append every call's result in the model's order; the first stop or valid output ends the run."""
    final: Final | None = None
    failures = state.record.tool_failures
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
                failures[tool_call.name] = failures.get(tool_call.name, 0) + 1
            if index in stops and final is None:
                final = Final(output=stops[index].output)
        state.record.messages.append(message)
    return final


_NOT_RUN_STOPPED = "Not run: another tool call stopped the run while this one waited for approval."


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
    """Count an invalid final output; past the output retries the run fails."""
    state.record.output_failures += 1
    count = state.record.output_failures
    if count > config.output_retries:
        raise OutputValidationError(
            f"the model's output failed validation {count} times; last error: {reason}"
        )


def _raise_if_retries_spent(config: LoopConfig, state: LoopState) -> None:
    for name, count in state.record.tool_failures.items():
        found = config.toolset.get(name)
        budget = found.retries if found is not None and found.retries is not None else config.tool_retries
        if count > budget:
            shown = repr(name) if name else "(empty name)"
            raise ToolRetriesExceeded(f"tool {shown} failed {count} times, more than its {budget} retries")


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
