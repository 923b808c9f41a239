"""The loop's state: the agent's fixed configuration and one run's mutable state.

`start` builds a fresh run's state; `restore` rebuilds a paused run's
from its [`RunState`][agentkit.run_state.RunState].
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import anyio

from agentkit._approval import Gate, needs_gate
from agentkit._output import OutputSpec
from agentkit._run_context import RunContext, UsageBudget
from agentkit.approval import Approver, Decision
from agentkit.events import Event
from agentkit.exceptions import UsageLimitExceeded, UserError
from agentkit.hooks import RunHooks, RunInfo
from agentkit.images import load_image
from agentkit.messages import Message, SystemMessage, UserMessage
from agentkit.models.abstract import Model, ModelSettings, ToolChoice
from agentkit.result import RunOptions
from agentkit.run_state import RunRecord, RunState
from agentkit.tool import Toolset
from agentkit.usage import Usage, UsageLimits

if TYPE_CHECKING:
    from agentkit._turn_calls import Stage

__all__ = [
    "Final",
    "HookPoints",
    "LoopConfig",
    "LoopState",
    "Outcome",
    "Parent",
    "Paused",
    "Resume",
    "approver",
    "gate",
    "info",
    "restore",
    "start",
]


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
    approve: Approver | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Resume:
    """A paused run to continue, and decisions for its waiting calls (by call key)."""

    state: RunState
    decisions: Mapping[str, Decision] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class HookPoints:
    """A run's hooks, grouped by the loop points they override (the loop skips the rest).

    Most hooks override one or two methods (a trace writer only ``on_event``), so calling
    every hook at every point would build a `RunInfo` and await a no-op per hook.
    """

    before_model_call: tuple[RunHooks, ...] = ()
    after_model_call: tuple[RunHooks, ...] = ()
    on_model_error: tuple[RunHooks, ...] = ()
    after_turn: tuple[RunHooks, ...] = ()

    @classmethod
    def of(cls, hooks: tuple[RunHooks, ...]) -> HookPoints:
        """Group ``hooks`` (order kept) by the methods their classes override."""
        return cls(**{point.name: _overriding(hooks, point.name) for point in fields(cls)})


def _overriding(hooks: tuple[RunHooks, ...], name: str) -> tuple[RunHooks, ...]:
    """The hooks whose class overrides ``RunHooks.<name>`` (the others would be no-ops there)."""
    base = getattr(RunHooks, name)
    return tuple(h for h in hooks if getattr(type(h), name) is not base)


@dataclass(kw_only=True, slots=True)
class LoopState:
    """One run's mutable state (the loop's steps read and update it).

    ``record`` is what a pause saves (it freezes into the
    [`RunState`][agentkit.run_state.RunState]); the rest is this process's: dependencies,
    settings, hooks, the concurrency limiter and the tool phase's stages (see
    `agentkit._tool_phase`).
    """

    record: RunRecord
    deps: Any
    settings: ModelSettings
    tool_choice: ToolChoice | None
    limiter: anyio.CapacityLimiter
    hooks: HookPoints
    emit: Callable[[Event], None]
    stages: tuple[Stage, ...] = ()
    parent: Parent | None = None

    def charge(self, usage: Usage, cost_usd: float, *, check: bool = True) -> None:
        """Add usage and cost to this run and the runs it is part of; check every level's limits."""
        record = self.record
        record.usage = record.usage + usage
        record.cost_usd += cost_usd
        if self.parent is not None:
            self.parent.budget.charge(usage, cost_usd, check=check)
        if check:
            passed = record.usage_limits.exceeded(record.usage, record.cost_usd)
            if passed is not None:
                raise UsageLimitExceeded(passed)

    def turn_context(self) -> RunContext[Any]:
        """The context this turn's tool calls start from (each call gets its own copy)."""
        record = self.record
        return RunContext(
            budget=self,
            emit=self.emit,
            deps=self.deps,
            run_id=record.run_id,
            turn=record.turn,
            usage=record.usage,
            messages=tuple(record.messages),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Parent:
    """The run (and tool call) a sub-run works for: an agent used as a tool."""

    budget: UsageBudget
    run_id: str
    tool_call_id: str | None = None
    tool_call_key: str | None = None
    approve: Approver | None = None  # the caller's, for a sub-run whose agent has none


@dataclass(frozen=True, kw_only=True, slots=True)
class Final:
    """The run ended with ``output``."""

    output: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Paused:
    """The run paused; ``state`` is what it needs to resume."""

    state: RunState


Outcome = Final | Paused | None


def start(
    config: LoopConfig,
    prompt: str | None,
    options: RunOptions,
    emit: Callable[[Event], None],
    parent: Parent | None = None,
) -> LoopState:
    """A fresh run's state: the history, the instructions and the prompt."""
    messages: list[Message] = list(options.message_history)
    history_len = len(messages)
    if config.instructions and not any(isinstance(m, SystemMessage) for m in messages):
        messages.insert(0, SystemMessage(content=config.instructions))
        history_len += 1
    if prompt is not None:
        messages.append(UserMessage(content=prompt, images=tuple(load_image(i) for i in options.images)))
    elif options.images:
        raise UserError("images= go with a prompt: pass the prompt they belong to")
    record = RunRecord(
        run_id=options.run_id or uuid.uuid4().hex,
        agent_name=config.name,
        messages=messages,
        new_messages_start=history_len,
        committed=history_len,
        usage_limits=options.usage_limits or config.usage_limits,
        max_turns=options.max_turns if options.max_turns is not None else config.max_turns,
        trace=_trace_path(options),
    )
    return _state(config, record, options, emit, parent, tool_choice=options.tool_choice)


def restore(
    config: LoopConfig,
    resume: Resume,
    options: RunOptions,
    emit: Callable[[Event], None],
    parent: Parent | None = None,
) -> LoopState:
    """Rebuild the state of a paused run from its saved state (limits and turns are the paused run's)."""
    record = RunRecord.thaw(resume.state)
    record.agent_name = config.name  # a pause saves the name of the agent that paused
    record.trace = _trace_path(options) or record.trace
    return _state(config, record, options, emit, parent, tool_choice=None)


def _state(
    config: LoopConfig,
    record: RunRecord,
    options: RunOptions,
    emit: Callable[[Event], None],
    parent: Parent | None,
    *,
    tool_choice: ToolChoice | None,
) -> LoopState:
    hooks = (*config.hooks, *options.hooks)
    return LoopState(
        record=record,
        deps=options.deps,
        settings=config.settings.merged(options.model_settings),
        tool_choice=tool_choice,
        limiter=anyio.CapacityLimiter(config.max_concurrency),
        hooks=HookPoints.of(hooks),
        emit=_compose_emit(hooks, emit),
        parent=parent,
    )


def approver(config: LoopConfig, options: RunOptions, parent: Parent | None) -> Approver | None:
    """Who decides on this run's calls: the call's ``approve=``, the agent's, else the caller's."""
    return options.approve or config.approve or (parent.approve if parent is not None else None)


def gate(
    config: LoopConfig, options: RunOptions, decisions: Mapping[str, Decision], parent: Parent | None
) -> Gate | None:
    """The run's approval gate with the decisions given up front (``None``: no tool needs approval)."""
    if not needs_gate(config.toolset):
        return None
    return Gate(approver=approver(config, options, parent), decisions=decisions)


def _trace_path(options: RunOptions) -> str | None:
    trace = options.trace
    return None if trace is None or isinstance(trace, RunHooks) else str(trace)


def _compose_emit(hooks: tuple[RunHooks, ...], emit: Callable[[Event], None]) -> Callable[[Event], None]:
    """One callable that hands an event to every hook, then to ``emit``."""
    observers: list[Callable[[Event], None]] = [h.on_event for h in _overriding(hooks, "on_event")]
    if not observers:
        return emit
    observers.append(emit)

    def fan_out(event: Event) -> None:
        for observe in observers:
            observe(event)

    return fan_out


def info(config: LoopConfig, state: LoopState) -> RunInfo:
    record = state.record
    return RunInfo(run_id=record.run_id, agent_name=config.name, turn=record.turn, deps=state.deps)
