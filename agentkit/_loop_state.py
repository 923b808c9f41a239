"""The loop's state: the agent's fixed configuration and one run's mutable state.

`start` builds a fresh run's state; `restore` rebuilds a paused run's
from its [`RunState`][agentkit.run_state.RunState].
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import anyio

from agentkit._approval import Gate, needs_gate
from agentkit._nested import SubRunResume, split_decisions
from agentkit._output import OutputSpec
from agentkit._run_context import UsageBudget
from agentkit.approval import Approver, Decision
from agentkit.exceptions import UsageLimitExceeded, UserError
from agentkit.hooks import RunHooks, RunInfo
from agentkit.images import load_image
from agentkit.messages import Event, Message, SystemMessage, UserMessage, tool_call_key
from agentkit.models.abstract import Model, ModelSettings, ToolChoice
from agentkit.result import RunOptions
from agentkit.run_state import CallResult, RunState
from agentkit.tool import Toolset
from agentkit.usage import Usage, UsageLimits

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
    """One run's mutable state (the loop's steps read and update it)."""

    run_id: str
    messages: list[Message]
    history_len: int
    deps: Any
    settings: ModelSettings
    limits: UsageLimits
    max_turns: int
    tool_choice: ToolChoice | None
    limiter: anyio.CapacityLimiter
    hooks: HookPoints
    emit: Callable[[Event], None]
    committed: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    turn: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    output_failures: int = 0
    gate: Gate | None = None  # None: no tool needs approval, the step is skipped
    carried: dict[int, CallResult] = field(default_factory=dict)  # results of a resumed turn
    resumes: dict[int, SubRunResume] = field(default_factory=dict)  # paused sub-runs of a resumed turn
    paused_turn: bool = False
    trace: str | None = None
    parent: Parent | None = None

    def charge(self, usage: Usage, cost_usd: float, *, check: bool = True) -> None:
        """Add usage and cost to this run and the runs it is part of; check every level's limits."""
        self.usage = self.usage + usage
        self.cost += cost_usd
        if self.parent is not None:
            self.parent.budget.charge(usage, cost_usd, check=check)
        if check:
            passed = self.limits.exceeded(self.usage, self.cost)
            if passed is not None:
                raise UsageLimitExceeded(passed)


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
    messages: list[Message] = list(options.message_history)
    history_len = len(messages)
    if config.instructions and not any(isinstance(m, SystemMessage) for m in messages):
        messages.insert(0, SystemMessage(content=config.instructions))
        history_len += 1
    if prompt is not None:
        messages.append(UserMessage(content=prompt, images=tuple(load_image(i) for i in options.images)))
    elif options.images:
        raise UserError("images= go with a prompt: pass the prompt they belong to")
    return LoopState(
        run_id=options.run_id or uuid.uuid4().hex,
        messages=messages,
        history_len=history_len,
        deps=options.deps,
        settings=config.settings.merged(options.model_settings),
        limits=options.usage_limits or config.usage_limits,
        max_turns=options.max_turns if options.max_turns is not None else config.max_turns,
        tool_choice=options.tool_choice,
        limiter=anyio.CapacityLimiter(config.max_concurrency),
        hooks=HookPoints.of(hooks := (*config.hooks, *options.hooks)),
        emit=_compose_emit(hooks, emit),
        committed=history_len,
        gate=_gate(config, options, {}, parent),
        trace=_trace_path(options),
        parent=parent,
    )


def restore(
    config: LoopConfig,
    resume: Resume,
    options: RunOptions,
    emit: Callable[[Event], None],
    parent: Parent | None = None,
) -> LoopState:
    """Rebuild the state of a paused run (limits and turns are the paused run's).

    Decisions keyed ``"<call key>/<sub-run key>"`` go to the paused sub-run of that call.
    """
    saved = resume.state
    own, by_call = split_decisions(resume.decisions)
    return LoopState(
        run_id=saved.run_id,
        messages=list(saved.messages),
        history_len=saved.new_messages_start,
        deps=options.deps,
        settings=config.settings.merged(options.model_settings),
        limits=saved.usage_limits,
        max_turns=saved.max_turns,
        tool_choice=None,
        limiter=anyio.CapacityLimiter(config.max_concurrency),
        hooks=HookPoints.of(hooks := (*config.hooks, *options.hooks)),
        emit=_compose_emit(hooks, emit),
        committed=saved.committed,
        usage=saved.usage,
        cost=saved.cost_usd,
        turn=saved.turn,
        failures=dict(saved.tool_failures),
        output_failures=saved.output_failures,
        gate=_gate(config, options, own, parent) or Gate(decisions=own),
        carried=dict(saved.results),
        resumes={
            index: SubRunResume(state=sub, decisions=by_call.get(tool_call_key(saved.turn, index), {}))
            for index, sub in saved.nested.items()
        },
        paused_turn=True,
        trace=_trace_path(options) or saved.trace,
        parent=parent,
    )


def approver(config: LoopConfig, options: RunOptions, parent: Parent | None) -> Approver | None:
    """Who decides on this run's calls: the call's ``approve=``, the agent's, else the caller's."""
    return options.approve or config.approve or (parent.approve if parent is not None else None)


def _gate(
    config: LoopConfig, options: RunOptions, decisions: Mapping[str, Decision], parent: Parent | None
) -> Gate | None:
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
    return RunInfo(run_id=state.run_id, agent_name=config.name, turn=state.turn, deps=state.deps)
