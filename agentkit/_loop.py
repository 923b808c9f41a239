"""The planner loop: a few small named steps, repeated per turn.

build the request -> call the model -> account usage and check limits ->
run the tool calls (concurrently) -> apply the results -> next turn, until a
final answer, a valid structured output, or a limit. Whatever ends the run,
the conversation so far is kept: on the result, or on the raised
:class:`~agentkit.exceptions.RunError`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio

from agentkit._log import get_logger
from agentkit._output import OUTPUT_TOOL_NAME, OutputInvalid, OutputSpec
from agentkit._run_context import RunContext
from agentkit._tool_runner import run_tool_calls
from agentkit.exceptions import (
    MaxTurnsExceeded,
    ModelResponseError,
    OutputValidationError,
    RunError,
    ToolRetriesExceeded,
    UsageLimitExceeded,
)
from agentkit.hooks import RunHooks, RunInfo
from agentkit.messages import (
    AssistantMessage,
    Event,
    FinalResultEvent,
    Message,
    ModelCallFinished,
    ModelCallStarted,
    ReasoningDelta,
    RunFailed,
    RunStarted,
    SystemMessage,
    TextDelta,
    ToolCall,
    ToolMessage,
    TurnFinished,
    UserMessage,
)
from agentkit.models.abstract import Model, ModelRequest, ModelResponse, ModelSettings, ToolChoice
from agentkit.result import RunOptions, RunResult
from agentkit.tool import Toolset
from agentkit.usage import Usage, UsageLimits

__all__ = ["LoopConfig", "run_loop"]

_log = get_logger("agentkit.loop")


@dataclass(frozen=True, kw_only=True, slots=True)
class LoopConfig:
    """Everything the loop needs from the agent, fixed for the agent's lifetime."""

    model: Model
    toolset: Toolset
    output: OutputSpec[Any]
    instructions: str | None
    settings: ModelSettings
    max_turns: int
    usage_limits: UsageLimits
    tool_retries: int
    output_retries: int
    max_concurrency: int
    name: str = "agent"
    hooks: tuple[RunHooks, ...] = ()
    stream: bool = False


@dataclass(kw_only=True, slots=True)
class _State:
    run_id: str
    messages: list[Message]
    history_len: int
    deps: Any
    settings: ModelSettings
    limits: UsageLimits
    max_turns: int
    tool_choice: ToolChoice | None
    limiter: anyio.CapacityLimiter
    hooks: tuple[RunHooks, ...]
    emit: Callable[[Event], None]
    committed: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    turn: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    output_failures: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class _Final:
    output: Any


async def run_loop(
    config: LoopConfig, prompt: str | None, options: RunOptions, emit: Callable[[Event], None]
) -> RunResult[Any]:
    """Run the conversation to its end and return the :class:`RunResult`.

    ``emit`` receives every event (after the hooks' ``on_event``).

    Raises:
        RunError: a limit or failure ended the run; ``.messages`` holds the conversation so far.
    """
    state = _start(config, prompt, options, emit)
    state.emit(
        RunStarted(
            run_id=state.run_id,
            agent_name=config.name,
            model_name=config.model.model_name,
            messages=tuple(state.messages),
            tools=tuple(_build_request(config, state).tools),
        )
    )
    try:
        with _deadline(options.timeout_s):
            final = await _drive(config, state)
    except RunError as err:
        await _fail(config, state, err, "The run ended before this tool call finished.")
        raise
    except TimeoutError:
        timed_out = UsageLimitExceeded(f"time limit of {options.timeout_s} s exceeded")
        await _fail(config, state, timed_out, "The run's time limit passed before this tool call finished.")
        raise timed_out from None
    result: RunResult[Any] = RunResult(
        output=final.output,
        messages=tuple(state.messages),
        new_messages_start=state.history_len,
        usage=state.usage,
        cost_usd=state.cost,
        run_id=state.run_id,
        turns=state.turn,
    )
    state.emit(FinalResultEvent(result=result))
    return result


async def _fail(config: LoopConfig, state: _State, error: RunError, reason: str) -> None:
    """Close the conversation cleanly, hand its last turn to the hooks, attach it to ``error``."""
    _close_dangling_calls(state.messages, reason)
    error.attach(state.messages, state.run_id)
    with anyio.CancelScope(shield=True):
        await _commit_turn(config, state)
    state.emit(RunFailed(run_id=state.run_id, error=error))


def _start(
    config: LoopConfig, prompt: str | None, options: RunOptions, emit: Callable[[Event], None]
) -> _State:
    messages: list[Message] = list(options.message_history)
    history_len = len(messages)
    if config.instructions and not any(isinstance(m, SystemMessage) for m in messages):
        messages.insert(0, SystemMessage(content=config.instructions))
        history_len += 1
    if prompt is not None:
        messages.append(UserMessage(content=prompt))
    return _State(
        run_id=uuid.uuid4().hex,
        messages=messages,
        history_len=history_len,
        deps=options.deps,
        settings=config.settings.merged(options.model_settings),
        limits=options.usage_limits or config.usage_limits,
        max_turns=options.max_turns if options.max_turns is not None else config.max_turns,
        tool_choice=options.tool_choice,
        limiter=anyio.CapacityLimiter(config.max_concurrency),
        hooks=(hooks := (*config.hooks, *options.hooks)),
        emit=_compose_emit(hooks, emit),
        committed=history_len,
    )


def _compose_emit(hooks: tuple[RunHooks, ...], emit: Callable[[Event], None]) -> Callable[[Event], None]:
    """One callable that hands an event to every hook, then to ``emit``."""
    observers: list[Callable[[Event], None]] = [
        h.on_event for h in hooks if type(h).on_event is not RunHooks.on_event
    ]
    if not observers:
        return emit
    observers.append(emit)

    def fan_out(event: Event) -> None:
        for observe in observers:
            observe(event)

    return fan_out


def _info(config: LoopConfig, state: _State) -> RunInfo:
    return RunInfo(run_id=state.run_id, agent_name=config.name, turn=state.turn, deps=state.deps)


async def _commit_turn(config: LoopConfig, state: _State) -> None:
    """Hand the messages added since the last commit to the hooks, as one turn."""
    new = state.messages[state.committed :]
    if not new or not state.hooks:
        state.committed = len(state.messages)
        return
    info = _info(config, state)
    for hook in state.hooks:
        await hook.after_turn(tuple(new), info)
    state.committed = len(state.messages)


@contextlib.contextmanager
def _deadline(timeout_s: float | None) -> Iterator[None]:
    if timeout_s is None:
        yield
    else:
        with anyio.fail_after(timeout_s):
            yield


async def _drive(config: LoopConfig, state: _State) -> _Final:
    while True:
        if state.turn >= state.max_turns:
            raise MaxTurnsExceeded(f"no final answer after {state.max_turns} turns")
        state.turn += 1
        _check_request_limit(state)
        request = _build_request(config, state)
        for hook in state.hooks:
            request = await hook.before_model_call(request, _info(config, state))
        response = await _call_model(config, state, request)
        for hook in state.hooks:
            response = await hook.after_model_call(response, _info(config, state))
        _account(state, response)
        final = await _handle_response(config, state, response.message)
        await _commit_turn(config, state)
        state.emit(TurnFinished(turn=state.turn, usage=state.usage))
        if final is not None:
            return final


def _build_request(config: LoopConfig, state: _State) -> ModelRequest:
    tools = config.toolset.definitions
    if config.output.tool is not None:
        tools = (*tools, config.output.tool)
    return ModelRequest(
        messages=tuple(state.messages),
        tools=tools,
        tool_choice=state.tool_choice,
        settings=state.settings,
    )


async def _call_model(config: LoopConfig, state: _State, request: ModelRequest) -> ModelResponse:
    state.emit(ModelCallStarted(turn=state.turn, request=request))
    started = time.perf_counter()
    try:
        response = await (
            _stream_model(config, state, request) if config.stream else config.model.complete(request)
        )
    except Exception as err:
        duration = time.perf_counter() - started
        state.emit(
            ModelCallFinished(turn=state.turn, request=request, response=None, duration_s=duration, error=err)
        )
        raise
    duration = time.perf_counter() - started
    state.emit(ModelCallFinished(turn=state.turn, request=request, response=response, duration_s=duration))
    return response


async def _stream_model(config: LoopConfig, state: _State, request: ModelRequest) -> ModelResponse:
    response: ModelResponse | None = None
    async for event in config.model.stream(request):
        if isinstance(event, ModelResponse):
            response = event
        elif isinstance(event, TextDelta | ReasoningDelta):
            state.emit(event)
    if response is None:
        raise ModelResponseError("the model's stream ended without a response")
    return response


def _check_request_limit(state: _State) -> None:
    limit = state.limits.requests
    if limit is not None and state.usage.requests >= limit:
        raise UsageLimitExceeded(f"requests limit of {limit} reached")


def _account(state: _State, response: ModelResponse) -> None:
    state.messages.append(response.message)
    state.usage = state.usage + response.usage
    state.cost += response.cost_usd
    passed = state.limits.exceeded(state.usage, state.cost)
    if passed is not None:
        raise UsageLimitExceeded(passed)
    _log.debug(
        "model_turn",
        run_id=state.run_id,
        turn=state.turn,
        finish_reason=response.finish_reason,
        tool_calls=len(response.message.tool_calls),
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
    )


async def _handle_response(config: LoopConfig, state: _State, message: AssistantMessage) -> _Final | None:
    if message.tool_calls:
        return await _handle_tool_calls(config, state, message.tool_calls)
    text = message.content or ""
    if config.output.is_text:
        return _Final(output=text)
    try:
        return _Final(output=config.output.from_text(text))
    except OutputInvalid as invalid:
        _count_output_failure(config, state, invalid.message)
        state.messages.append(UserMessage(content=f"Your answer was not valid: {invalid.message}"))
        return None


async def _handle_tool_calls(config: LoopConfig, state: _State, calls: tuple[ToolCall, ...]) -> _Final | None:
    is_output = config.output.tool is not None
    function_calls = [c for c in calls if not (is_output and c.name == OUTPUT_TOOL_NAME)]
    _check_tool_call_limit(state, len(function_calls))
    ctx: RunContext[Any] = RunContext(
        deps=state.deps,
        run_id=state.run_id,
        turn=state.turn,
        usage=state.usage,
        messages=tuple(state.messages),
    )
    outcomes = iter(
        await run_tool_calls(
            function_calls,
            config.toolset,
            ctx,
            emit=state.emit,
            limiter=state.limiter,
            failures=state.failures,
        )
    )
    final: _Final | None = None
    for tool_call in calls:
        if is_output and tool_call.name == OUTPUT_TOOL_NAME:
            message, candidate = _validate_output_call(config, state, tool_call, final is None)
            final = final or candidate
        else:
            outcome = next(outcomes)
            message = outcome.message
            if outcome.failed:
                state.failures[tool_call.name] = state.failures.get(tool_call.name, 0) + 1
            if outcome.stop is not None and final is None:
                final = _Final(output=outcome.stop.output)
        state.messages.append(message)
    state.usage = state.usage + Usage(tool_calls=len(function_calls))
    state.tool_choice = None  # a forced choice applies until the model has called a tool
    _raise_if_retries_spent(config, state)
    return final


def _validate_output_call(
    config: LoopConfig, state: _State, tool_call: ToolCall, first: bool
) -> tuple[ToolMessage, _Final | None]:
    if not first:
        return ToolMessage(
            tool_call_id=tool_call.id, name=tool_call.name, content="Ignored: already answered."
        ), None
    try:
        output = config.output.from_tool_arguments(tool_call.arguments)
    except OutputInvalid as invalid:
        _count_output_failure(config, state, invalid.message)
        text = f"Invalid final result: {invalid.message}\nFix it and call {OUTPUT_TOOL_NAME!r} again."
        return ToolMessage(tool_call_id=tool_call.id, name=tool_call.name, content=text, is_error=True), None
    message = ToolMessage(tool_call_id=tool_call.id, name=tool_call.name, content="Final result accepted.")
    return message, _Final(output=output)


def _count_output_failure(config: LoopConfig, state: _State, reason: str) -> None:
    state.output_failures += 1
    if state.output_failures > config.output_retries:
        raise OutputValidationError(
            f"the model's output failed validation {state.output_failures} times; last error: {reason}"
        )


def _raise_if_retries_spent(config: LoopConfig, state: _State) -> None:
    for name, count in state.failures.items():
        found = config.toolset.get(name)
        budget = found.retries if found is not None and found.retries is not None else config.tool_retries
        if count > budget:
            shown = repr(name) if name else "(empty name)"
            raise ToolRetriesExceeded(f"tool {shown} failed {count} times, more than its {budget} retries")


def _check_tool_call_limit(state: _State, count: int) -> None:
    limit = state.limits.tool_calls
    if limit is not None and state.usage.tool_calls + count > limit:
        raise UsageLimitExceeded(f"tool_calls limit of {limit} would be exceeded by {count} more calls")


def _close_dangling_calls(messages: list[Message], reason: str) -> None:
    """Give every tool call without a result an explanatory error result (history stays valid)."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    for message in reversed(messages):
        if isinstance(message, AssistantMessage):
            missing = [c for c in message.tool_calls if c.id not in answered]
            messages.extend(
                ToolMessage(tool_call_id=c.id, name=c.name, content=reason, is_error=True) for c in missing
            )
            return
