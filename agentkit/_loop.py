"""The planner loop: a few small named steps, repeated per turn.

build the request -> call the model -> account usage and check limits ->
run the tool calls (concurrently) -> apply the results -> next turn, until a
final answer, a valid structured output, or a limit. Whatever ends the run,
the conversation so far is kept: on the result, or on the raised
[`RunError`][agentkit.exceptions.RunError].
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.abc

from agentkit._early_start import EarlyStarter, early_start
from agentkit._log import get_logger
from agentkit._loop_state import (
    Final,
    LoopConfig,
    LoopState,
    Outcome,
    Parent,
    Paused,
    Resume,
    approver,
    gate,
    info,
    restore,
    start,
)
from agentkit._nested import approving, split_decisions
from agentkit._output import OutputInvalid
from agentkit._tool_apply import close_dangling_calls, count_output_failure
from agentkit._tool_phase import Carried, handle_tool_calls, tool_stages
from agentkit._tool_runner import Launcher
from agentkit.events import (
    Event,
    FinalResultEvent,
    ModelCallFinished,
    ModelCallStarted,
    ReasoningDelta,
    RunFailed,
    RunPaused,
    RunStarted,
    TextDelta,
    TurnFinished,
)
from agentkit.exceptions import (
    MaxTurnsExceeded,
    ModelError,
    ModelResponseError,
    RunError,
    UsageLimitExceeded,
)
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.models.abstract import ModelRequest, ModelResponse, ToolCallDelta
from agentkit.result import RunOptions, RunResult

__all__ = ["LoopConfig", "Resume", "run_loop"]

_log = get_logger("agentkit.loop")


async def run_loop(
    config: LoopConfig,
    prompt: str | None,
    options: RunOptions,
    emit: Callable[[Event], None],
    *,
    resume: Resume | None = None,
    parent: Parent | None = None,
) -> RunResult[Any]:
    """Run the conversation to its end (or a pause) and return the `RunResult`.

    ``emit`` receives every event (after the hooks' ``on_event``). With
    ``resume``, a paused run continues from its state instead of ``prompt``;
    ``parent`` makes this a sub-run charging its usage to another run.

    Raises:
        RunError: a limit or failure ended the run; ``.messages`` holds the conversation so far.
    """
    if resume is None:
        state = start(config, prompt, options, emit, parent)
    else:
        state = restore(config, resume, options, emit, parent)
    own = {} if resume is None else split_decisions(resume.decisions)[0]
    state.stages = tool_stages(config, gate(config, options, own, parent))
    state.emit(
        RunStarted(
            run_id=state.record.run_id,
            agent_name=config.name,
            model_name=config.model.model_name,
            messages=tuple(state.record.messages),
            tools=tuple(_build_request(config, state).tools),
            resumed=resume is not None,
            parent_run_id=parent.run_id if parent is not None else None,
            parent_tool_call_id=parent.tool_call_id if parent is not None else None,
            parent_tool_call_key=parent.tool_call_key if parent is not None else None,
        )
    )
    try:
        with _deadline(options.timeout_s), approving(approver(config, options, parent)):
            final = await _drive(config, state, resume)
    except RunError as err:
        await _fail(config, state, err, "The run ended before this tool call finished.")
        raise
    except TimeoutError:
        timed_out = UsageLimitExceeded(f"time limit of {options.timeout_s} s exceeded")
        await _fail(config, state, timed_out, "The run's time limit passed before this tool call finished.")
        raise timed_out from None
    result = _result(state, final)
    if result.state is not None:
        state.emit(RunPaused(run_id=state.record.run_id, pending=result.pending, state=result.state))
    state.emit(FinalResultEvent(result=result))
    return result


def _result(state: LoopState, end: Final | Paused) -> RunResult[Any]:
    paused = end.state if isinstance(end, Paused) else None
    return RunResult(
        output=end.output if isinstance(end, Final) else None,
        messages=tuple(state.record.messages),
        new_messages_start=state.record.new_messages_start,
        usage=state.record.usage,
        cost_usd=state.record.cost_usd,
        run_id=state.record.run_id,
        turns=state.record.turn,
        pending=paused.pending if paused is not None else (),
        state=paused,
    )


async def _fail(config: LoopConfig, state: LoopState, error: RunError, reason: str) -> None:
    """Close the conversation cleanly, hand its last turn to the hooks, attach it to ``error``."""
    close_dangling_calls(state.record.messages, reason)
    error.attach(
        state.record.messages,
        state.record.run_id,
        usage=state.record.usage,
        cost_usd=state.record.cost_usd,
        turns=state.record.turn,
    )
    with anyio.CancelScope(shield=True):
        await _commit_turn(config, state)
    state.emit(RunFailed(run_id=state.record.run_id, error=error))


async def _commit_turn(config: LoopConfig, state: LoopState) -> None:
    """Hand the messages added since the last commit to the hooks, as one turn."""
    new = state.record.messages[state.record.committed :]
    hooks = state.hooks.after_turn
    if not new or not hooks:
        state.record.committed = len(state.record.messages)
        return
    run_info = info(config, state)
    for hook in hooks:
        await hook.after_turn(tuple(new), run_info)
    state.record.committed = len(state.record.messages)


@contextlib.contextmanager
def _deadline(timeout_s: float | None) -> Iterator[None]:
    if timeout_s is None:
        yield
    else:
        with anyio.fail_after(timeout_s):
            yield


async def _drive(config: LoopConfig, state: LoopState, resume: Resume | None) -> Final | Paused:
    if resume is not None:
        outcome = await _finish_paused_turn(config, state, Carried.of(state.record, resume.decisions))
        if outcome is not None:
            return outcome
    if not (config.stream and len(config.toolset)):
        return await _turns(config, state, None)
    async with early_start() as tg:  # streamed turns start their tools mid-stream, in this group
        return await _turns(config, state, tg)


async def _turns(config: LoopConfig, state: LoopState, tg: anyio.abc.TaskGroup | None) -> Final | Paused:
    while True:
        if state.record.turn >= state.record.max_turns:
            raise MaxTurnsExceeded(f"no final answer after {state.record.max_turns} turns")
        outcome = await _model_turn(config, state, tg)
        if outcome is not None:
            return outcome


async def _model_turn(config: LoopConfig, state: LoopState, tg: anyio.abc.TaskGroup | None) -> Outcome:
    """One turn: ask the model, then act on its answer (tool calls, an output, or a retry)."""
    state.record.turn += 1
    _check_request_limit(state)
    request = _build_request(config, state)
    for hook in state.hooks.before_model_call:
        request = await hook.before_model_call(request, info(config, state))
    early = None if tg is None else _starter(config, state, tg)
    outcome = await _respond(config, state, request, early)
    if early is not None:
        await early.settle()
    return await _end_turn(config, state, outcome)


async def _respond(
    config: LoopConfig, state: LoopState, request: ModelRequest, early: EarlyStarter | None
) -> Outcome:
    """Call the model and act on its answer (tool calls, an output, or a retry)."""
    response = await _call_model_or_recover(config, state, request, early)
    for hook in state.hooks.after_model_call:
        response = await hook.after_model_call(response, info(config, state))
    _account(state, response)
    return await _handle_response(config, state, response.message, early)


def _starter(config: LoopConfig, state: LoopState, tg: anyio.abc.TaskGroup) -> EarlyStarter:
    limit = state.record.usage_limits.tool_calls
    record = state.record
    ctx = state.turn_context()
    launcher = Launcher.of(
        tg, config.toolset, ctx, emit=state.emit, limiter=state.limiter, failures=record.tool_failures
    )
    return EarlyStarter(
        launcher=launcher,
        toolset=config.toolset,
        turn=record.turn,
        allowance=None if limit is None else limit - record.usage.tool_calls,
    )


async def _finish_paused_turn(config: LoopConfig, state: LoopState, carried: Carried) -> Outcome:
    """Resume: run the decided calls of the turn the run paused in, then apply all its results."""
    message = state.record.messages[-1]
    assert isinstance(message, AssistantMessage)  # RunState guarantees it
    outcome = await handle_tool_calls(config, state, message.tool_calls, (carried,))
    return await _end_turn(config, state, outcome)


async def _end_turn(config: LoopConfig, state: LoopState, outcome: Outcome) -> Outcome:
    """Hand a finished turn to the hooks (a paused turn is not finished: nothing is committed)."""
    if not isinstance(outcome, Paused):
        await _commit_turn(config, state)
        state.emit(TurnFinished(turn=state.record.turn, usage=state.record.usage))
    return outcome


def _build_request(config: LoopConfig, state: LoopState) -> ModelRequest:
    tools = config.toolset.definitions
    if config.output.tool is not None:
        tools = (*tools, config.output.tool)
    return ModelRequest(
        messages=tuple(state.record.messages),
        tools=tools,
        tool_choice=state.tool_choice,
        settings=state.settings,
    )


async def _call_model(
    config: LoopConfig, state: LoopState, request: ModelRequest, early: EarlyStarter | None
) -> ModelResponse:
    state.emit(ModelCallStarted(turn=state.record.turn, request=request))
    started = time.perf_counter()
    try:
        response = await (
            _stream_model(config, state, request, early) if config.stream else config.model.complete(request)
        )
    except Exception as err:
        duration = time.perf_counter() - started
        state.emit(
            ModelCallFinished(
                turn=state.record.turn, request=request, response=None, duration_s=duration, error=err
            )
        )
        raise
    duration = time.perf_counter() - started
    state.emit(
        ModelCallFinished(turn=state.record.turn, request=request, response=response, duration_s=duration)
    )
    return response


async def _call_model_or_recover(
    config: LoopConfig, state: LoopState, request: ModelRequest, early: EarlyStarter | None
) -> ModelResponse:
    """Call the model; if it fails, the first hook offering a changed request gets one retry."""
    try:
        return await _call_model(config, state, request, early)
    except ModelError as err:
        for hook in state.hooks.on_model_error:
            retry = await hook.on_model_error(request, err, info(config, state))
            if retry is not None:
                return await _call_model(config, state, retry, early)
        raise


async def _stream_model(
    config: LoopConfig, state: LoopState, request: ModelRequest, early: EarlyStarter | None
) -> ModelResponse:
    response: ModelResponse | None = None
    async for event in config.model.stream(request):
        if isinstance(event, ToolCallDelta):
            if early is not None:
                early.feed(event)
        elif isinstance(event, ModelResponse):
            response = event
            if early is not None:
                early.finish()
        elif isinstance(event, TextDelta | ReasoningDelta):
            state.emit(event)
    if response is None:
        raise ModelResponseError("the model's stream ended without a response")
    return response


def _check_request_limit(state: LoopState) -> None:
    limit = state.record.usage_limits.requests
    if limit is not None and state.record.usage.requests >= limit:
        raise UsageLimitExceeded(f"requests limit of {limit} reached")
    if (
        state.record.usage.total_tokens or state.record.cost_usd
    ):  # agents used as tools may have spent the budget
        passed = state.record.usage_limits.exceeded(state.record.usage, state.record.cost_usd)
        if passed is not None:
            raise UsageLimitExceeded(passed)


def _account(state: LoopState, response: ModelResponse) -> None:
    state.record.messages.append(response.message)
    state.charge(response.usage, response.cost_usd)
    _log.debug(
        "model_turn",
        run_id=state.record.run_id,
        turn=state.record.turn,
        finish_reason=response.finish_reason,
        tool_calls=len(response.message.tool_calls),
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
    )


async def _handle_response(
    config: LoopConfig, state: LoopState, message: AssistantMessage, early: EarlyStarter | None
) -> Outcome:
    if message.tool_calls:
        return await handle_tool_calls(config, state, message.tool_calls, () if early is None else (early,))
    text = message.content or ""
    if config.output.is_text:
        return Final(output=text)
    try:
        return Final(output=config.output.from_text(text))
    except OutputInvalid as invalid:
        count_output_failure(config, state, invalid.message)
        state.record.messages.append(UserMessage(content=f"Your answer was not valid: {invalid.message}"))
        return None
