"""Agent: a model, instructions, tools and limits, and the ways to run them.

>>> from agentkit import Agent, tool
>>> from agentkit.models.function import ScriptedModel, call
>>> @tool
... def add(a: int, b: int) -> int:
...     '''Add two numbers.'''
...     return a + b
>>> model = ScriptedModel([call("add", {"a": 2, "b": 3}), "2 + 3 = 5"])
>>> agent = Agent(model=model, instructions="Use the tools.", tools=[add])
>>> result = agent.run_sync("What is 2 + 3?")
>>> result.output, result.usage.tool_calls, result.messages[3].content
('2 + 3 = 5', 1, '5')
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import copy
import functools
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Generic, Self, Unpack, overload

import anyio
import anyio.abc

from agentkit._approval import check_decisions
from agentkit._loop import LoopConfig, Resume
from agentkit._output import OutputSpec
from agentkit._prefill import PrefillHook
from agentkit._run import Run
from agentkit.approval import Approver, Decision
from agentkit.events import Event
from agentkit.exceptions import UserError
from agentkit.hooks import RunHooks
from agentkit.memory.abstract import Memory
from agentkit.messages import AssistantMessage, Message
from agentkit.models.abstract import Model, ModelSettings, ToolChoice
from agentkit.result import OutputT, RunKwargs, RunOptions, RunResult
from agentkit.run_state import RunState
from agentkit.tool import Tool, Toolset, ToolSource
from agentkit.usage import UsageLimits

__all__ = ["Agent", "RunStream"]

#: Agents swapped in by `Agent.override` for the current context (tests), by original agent.
_OVERRIDES: contextvars.ContextVar[Mapping[Agent[Any], Agent[Any]] | None] = contextvars.ContextVar(
    "agentkit_agent_overrides", default=None
)


class Agent(Generic[OutputT]):
    """A configured agent; one instance serves any number of concurrent runs.

    Args:
        model: the model provider (e.g. [`agentkit.models.KimiModel`][]).
        instructions: the system prompt.
        tools: ``@tool``-decorated functions (plain functions are wrapped), and
            [`ToolSource`][agentkit.tool.ToolSource] objects (e.g. an MCP server's tools),
            asked for their current tools at the start of every run.
        output_type: ``str`` for a text answer, or a type (pydantic model,
            dataclass, TypedDict, ...) the final answer must validate against.
        max_turns: model turns allowed per run.
        usage_limits: token, request, tool-call and cost limits per run.
        model_settings: sampling settings (temperature, max_tokens, ...).
        tool_retries: failed calls allowed per tool per run (a tool's own
            ``retries`` wins) before the run ends with ``ToolRetriesExceeded``.
        output_retries: invalid final outputs allowed before ``OutputValidationError``.
        max_concurrency: tool calls running at once within one run.
        name: the agent's name in logs and traces.
        hooks: [`RunHooks`][agentkit.hooks.RunHooks] attached to every run (tracing, memory, ...).
        memory: where ``run(..., session=...)`` loads and stores conversations.
        tool_choice: the default ``tool_choice`` of every run (``"auto"``, ``"none"``,
            ``"required"`` or a tool name); ``run(..., tool_choice=...)`` overrides it.
        approve: decides on calls of tools declared ``requires_approval`` (see
            [`agentkit.approval`][]); without one such a call pauses the run.
    """

    @overload
    def __init__(
        self: Agent[str],
        model: Model,
        *,
        instructions: str | None = None,
        tools: Iterable[Tool | Callable[..., Any] | ToolSource] = (),
        output_type: None = None,
        max_turns: int = 20,
        usage_limits: UsageLimits | None = None,
        model_settings: ModelSettings | None = None,
        tool_retries: int = 2,
        output_retries: int = 2,
        max_concurrency: int = 16,
        name: str = "agent",
        hooks: Sequence[RunHooks] = (),
        memory: Memory | None = None,
        tool_choice: ToolChoice | None = None,
        approve: Approver | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        model: Model,
        *,
        instructions: str | None = None,
        tools: Iterable[Tool | Callable[..., Any] | ToolSource] = (),
        output_type: type[OutputT],
        max_turns: int = 20,
        usage_limits: UsageLimits | None = None,
        model_settings: ModelSettings | None = None,
        tool_retries: int = 2,
        output_retries: int = 2,
        max_concurrency: int = 16,
        name: str = "agent",
        hooks: Sequence[RunHooks] = (),
        memory: Memory | None = None,
        tool_choice: ToolChoice | None = None,
        approve: Approver | None = None,
    ) -> None: ...

    def __init__(
        self,
        model: Model,
        *,
        instructions: str | None = None,
        tools: Iterable[Tool | Callable[..., Any] | ToolSource] = (),
        output_type: type[Any] | None = None,
        max_turns: int = 20,
        usage_limits: UsageLimits | None = None,
        model_settings: ModelSettings | None = None,
        tool_retries: int = 2,
        output_retries: int = 2,
        max_concurrency: int = 16,
        name: str = "agent",
        hooks: Sequence[RunHooks] = (),
        memory: Memory | None = None,
        tool_choice: ToolChoice | None = None,
        approve: Approver | None = None,
    ) -> None:
        if max_turns < 1 or max_concurrency < 1 or tool_retries < 0 or output_retries < 0:
            raise UserError("max_turns and max_concurrency must be >= 1; retries must be >= 0")
        self._memory = memory
        self._tool_choice = tool_choice
        tools = list(tools)
        self._tool_sources = tuple(t for t in tools if isinstance(t, ToolSource))
        self._config = LoopConfig(
            model=model,
            toolset=Toolset(t for t in tools if not isinstance(t, ToolSource)),
            output=OutputSpec.for_type(str if output_type is None else output_type),
            instructions=instructions,
            settings=model_settings or ModelSettings(),
            max_turns=max_turns,
            usage_limits=usage_limits or UsageLimits(),
            tool_retries=tool_retries,
            output_retries=output_retries,
            max_concurrency=max_concurrency,
            name=name,
            hooks=tuple(hooks),
            approve=approve,
        )

    # An agent is a frozen configuration: these read the one record runs use, and a change is
    # a new agent (`replace`), so what a run does and what the agent says can never differ.

    @property
    def model(self) -> Model:
        """The model this agent calls."""
        return self._config.model

    @property
    def name(self) -> str:
        """The agent's name (traces, ``as_tool``)."""
        return self._config.name

    @property
    def toolset(self) -> Toolset:
        """The agent's fixed tools (tool sources add theirs at each run)."""
        return self._config.toolset

    @property
    def memory(self) -> Memory | None:
        """Where ``session=`` runs keep their conversation."""
        return self._memory

    @property
    def tool_choice(self) -> ToolChoice | None:
        """The default ``tool_choice`` of this agent's runs."""
        return self._tool_choice

    def __setattr__(self, name: str, value: object) -> None:
        if not name.startswith("_"):
            raise AttributeError(
                f"Agent is a frozen configuration: {name!r} cannot be set; "
                f"use agent.replace({name}=...) for an agent that differs"
            )
        object.__setattr__(self, name, value)

    @property
    def tool_sources(self) -> tuple[ToolSource, ...]:
        """The tool sources (e.g. MCP servers) asked for their tools at every run."""
        return self._tool_sources

    def replace(
        self,
        *,
        model: Model | None = None,
        tools: Iterable[Tool | Callable[..., Any] | ToolSource] | None = None,
        memory: Memory | None = None,
        instructions: str | None = None,
        name: str | None = None,
        tool_choice: ToolChoice | None = None,
    ) -> Agent[OutputT]:
        """A new agent like this one but for the arguments given; this one is untouched.

        Everything not named (limits, settings, hooks, output type, approver, ...)
        is shared with the original. ``tools`` replaces the whole toolset,
        tool sources included.

        >>> from agentkit import Agent
        >>> from agentkit.models.function import ScriptedModel
        >>> agent = Agent(model=ScriptedModel(["first"]), instructions="Be brief.", max_turns=3)
        >>> other = agent.replace(model=ScriptedModel(["second"]))
        >>> other.run_sync("Hi").output, agent.run_sync("Hi").output
        ('second', 'first')

        Args:
            model: the model the new agent calls.
            tools: the new agent's tools and tool sources, instead of this one's.
            memory: the new agent's memory, instead of this one's.
            instructions: the new agent's system prompt, instead of this one's.
            name: the new agent's name.
            tool_choice: the new agent's default ``tool_choice``.
        """
        clone: Agent[OutputT] = copy.copy(self)
        changes: dict[str, Any] = {}
        if model is not None:
            changes["model"] = model
        if instructions is not None:
            changes["instructions"] = instructions
        if name is not None:
            changes["name"] = name
        if tools is not None:
            items = list(tools)
            clone._tool_sources = tuple(t for t in items if isinstance(t, ToolSource))
            changes["toolset"] = Toolset(t for t in items if not isinstance(t, ToolSource))
        if memory is not None:
            clone._memory = memory
        if tool_choice is not None:
            clone._tool_choice = tool_choice
        clone._config = replace(self._config, **changes)
        return clone

    @contextlib.contextmanager
    def override(
        self,
        *,
        model: Model | None = None,
        tools: Iterable[Tool | Callable[..., Any] | ToolSource] | None = None,
        memory: Memory | None = None,
        instructions: str | None = None,
    ) -> Iterator[Agent[OutputT]]:
        """Within the ``with`` block, runs of this agent use a `replace`-d copy (for tests).

        Unlike `replace`, code that holds this very agent (a module-level agent your
        application imports) picks up the change: ``run``, ``run_sync``, ``stream`` and
        ``resume`` use the copy while the block lasts, in this context (tasks and threads
        started from it included). The agent itself is not modified.

        >>> from agentkit import Agent
        >>> from agentkit.testing import ScriptedModel
        >>> agent = Agent(ScriptedModel(["live answer"]))
        >>> def application_code() -> str:
        ...     return agent.run_sync("Hi").output
        >>> with agent.override(model=ScriptedModel(["scripted answer"])):
        ...     application_code()
        'scripted answer'
        >>> application_code()
        'live answer'

        Args:
            model: the model runs use instead (e.g. a ``ScriptedModel``).
            tools: the tools runs use instead.
            memory: the memory runs use instead.
            instructions: the system prompt runs use instead.
        """
        replacement = self.replace(model=model, tools=tools, memory=memory, instructions=instructions)
        token = _OVERRIDES.set({**(_OVERRIDES.get() or {}), self: replacement})
        try:
            yield replacement
        finally:
            _OVERRIDES.reset(token)

    def _overridden(self) -> Agent[OutputT] | None:
        """The copy `override` put in place of this agent here, if any."""
        overrides = _OVERRIDES.get()
        return None if overrides is None else overrides.get(self)

    async def run(self, prompt: str | None, **options: Unpack[RunKwargs]) -> RunResult[OutputT]:
        """Run the agent on ``prompt`` until it gives a final answer.

        ``prompt=None`` continues from ``message_history`` alone. Keyword
        options are those of [`agentkit.result.RunOptions`][].

        Raises:
            RunError: a limit or a failure ended the run (``.messages`` keeps the conversation).
        """
        if (other := self._overridden()) is not None:
            return await other.run(prompt, **options)
        prepared = await self.prepare(RunOptions(**options))
        return await prepared.execute(prompt)

    async def prepare(
        self,
        options: RunOptions,
        *,
        stream: bool = False,
        state: RunState | None = None,
        decisions: Mapping[str, Decision] | None = None,
    ) -> Run[OutputT]:
        """The run ``options`` ask for, ready to execute: what every entry point does first.

        ``run``, ``stream``, ``resume``, ``resume_stream`` and `as_tool` all prepare a run and
        then drive it. Tool sources are asked for their current tools, the session's history is loaded, trace
        and prefill hooks are attached, and a paused ``state``'s ``decisions`` are checked.

        Raises:
            RunStateError: a decision names no pending call, or edited arguments are invalid.
            UserError: the options cannot be honoured (e.g. ``session=`` without a memory).
        """
        config = replace(self._config, stream=True) if stream else self._config
        config = await self._with_source_tools(config)
        resume = None
        if state is not None:
            checked = await check_decisions(state, decisions or {}, config.toolset)
            resume = Resume(state=state, decisions=checked)
        return Run(config=config, options=await self._resolve(options), resume=resume)

    async def _with_source_tools(self, config: LoopConfig) -> LoopConfig:
        """One run's loop configuration: the fixed tools plus every tool source's current ones."""
        if not self._tool_sources:
            return config
        current: list[Tool] = list(self.toolset)
        for source in self._tool_sources:
            current.extend(await source.list_tools())
        return replace(config, toolset=Toolset(current))

    async def _resolve(self, options: RunOptions) -> RunOptions:
        """Turn the session, trace and prefill options into history and hooks."""
        if options.tool_choice is None and self.tool_choice is not None:
            options = replace(options, tool_choice=self.tool_choice)
        extra: list[RunHooks] = []
        history = options.message_history
        if options.session is not None:
            if self.memory is None:
                raise UserError("session= needs a memory: Agent(..., memory=SQLiteMemory('agentkit.db'))")
            from agentkit.memory._session_hook import open_session  # noqa: PLC0415 - only when used

            stored, session_hook = await open_session(self.memory, options.session)
            history = [*stored, *history]
            extra.append(session_hook)
        if options.trace is not None:
            extra.append(options.trace if isinstance(options.trace, RunHooks) else _trace_hook(options.trace))
        if options.prefill is None:
            options, history = _prefill_from_history(options, history)
        if options.prefill is not None:
            extra.append(PrefillHook(options.prefill, name=options.prefill_name))
        extra.extend(_ambient_trace_hooks())
        if not extra and history is options.message_history:
            return options
        return replace(options, message_history=history, hooks=(*options.hooks, *extra))

    def as_tool(
        self, *, name: str | None = None, description: str | None = None, session: str | None = None
    ) -> Tool:
        """This agent as a tool another agent can call (see `agentkit._agent_tool`).

        The sub-run shares the calling run's usage limits and cost (its usage rolls up
        into the caller's result), names the caller's run in its ``RunStarted`` event
        for traces, and keeps its conversation in ``session`` when given (needs
        ``memory``).

        Args:
            name: the tool's name (default: the agent's name).
            description: what the calling model is told the agent does.
            session: a memory session the sub-runs continue and extend.
        """
        from agentkit._agent_tool import agent_tool  # noqa: PLC0415 - _agent_tool imports this module

        return agent_tool(self, name=name, description=description, session=session)

    async def resume(
        self, state: RunState, decisions: Mapping[str, Decision] | None = None, **options: Unpack[RunKwargs]
    ) -> RunResult[OutputT]:
        """Continue a paused run (see [`agentkit.approval`][]), here or in another process.

        ``decisions`` maps a pending call's key ([`key`][agentkit.approval.PendingCall],
        never the model's call id) to [`Approve`][agentkit.approval.Approve],
        [`Reject`][agentkit.approval.Reject] or [`EditArguments`][agentkit.approval.EditArguments];
        calls left without one go to ``approve=`` if given, or the run pauses again.
        Options are those of `run` (``deps``, ``session``, ``trace``, hooks...),
        except ``message_history`` and ``prefill``: the conversation is the state's.

        Raises:
            RunStateError: a decision names no pending call's key, or edited arguments are invalid.
            RunError: a limit or a failure ended the run.
        """
        if (other := self._overridden()) is not None:
            return await other.resume(state, decisions, **options)
        _refuse_history(options)
        prepared = await self.prepare(RunOptions(**options), state=state, decisions=decisions)
        return await prepared.execute(None)

    def resume_stream(
        self, state: RunState, decisions: Mapping[str, Decision] | None = None, **options: Unpack[RunKwargs]
    ) -> RunStream[OutputT]:
        """`resume` with live events, like `stream` (``async with agent.resume_stream(s)``).

        Raises (from the iteration):
            RunStateError: a decision names no pending call, or edited arguments are invalid.
            RunError: a limit or a failure ended the run.
        """
        if (other := self._overridden()) is not None:
            return other.resume_stream(state, decisions, **options)
        _refuse_history(options)
        prepare = functools.partial(
            self.prepare, RunOptions(**options), stream=True, state=state, decisions=decisions
        )
        return RunStream(None, prepare)

    def resume_sync(
        self, state: RunState, decisions: Mapping[str, Decision] | None = None, **options: Unpack[RunKwargs]
    ) -> RunResult[OutputT]:
        """Blocking `resume` for scripts (not from inside an event loop)."""

        async def _resume() -> RunResult[OutputT]:
            try:
                return await self.resume(state, decisions, **options)
            finally:
                aclose = getattr((self._overridden() or self).model, "aclose", None)
                if aclose is not None:
                    await aclose()

        return anyio.run(_resume)

    def run_sync(self, prompt: str | None, **options: Unpack[RunKwargs]) -> RunResult[OutputT]:
        """Blocking `run` for scripts and notebooks (not from inside an event loop)."""

        async def _run() -> RunResult[OutputT]:
            try:
                return await self.run(prompt, **options)
            finally:
                # This event loop ends here: release the model's connections while it still runs.
                aclose = getattr((self._overridden() or self).model, "aclose", None)
                if aclose is not None:
                    await aclose()

        return anyio.run(_run)

    def stream(self, prompt: str | None, **options: Unpack[RunKwargs]) -> RunStream[OutputT]:
        """Run with live events: ``async with agent.stream(p) as run: async for event in run: ...``.

        Events are text and reasoning deltas, tool calls starting and
        finishing (parallel calls interleave), finished turns, and finally a
        [`FinalResultEvent`][agentkit.events.FinalResultEvent]; ``run.result`` then
        holds the `RunResult`.
        """
        if (other := self._overridden()) is not None:
            return other.stream(prompt, **options)
        return RunStream(prompt, functools.partial(self.prepare, RunOptions(**options), stream=True))


def _refuse_history(options: Mapping[str, object]) -> None:
    if "message_history" in options or "prefill" in options:
        raise UserError(
            "resume() continues the state's conversation: message_history/prefill are not allowed"
        )


def _prefill_from_history(
    options: RunOptions, history: Sequence[Message]
) -> tuple[RunOptions, Sequence[Message]]:
    """The message-level prefill: a trailing partial assistant message prefills the next answer."""
    last = history[-1] if history else None
    if not isinstance(last, AssistantMessage) or not last.partial:
        return options, history
    return replace(options, prefill=last.content or "", prefill_name=last.name), history[:-1]


def _trace_hook(path: str | os.PathLike[str]) -> RunHooks:
    from agentkit.tracing import trace_hook  # noqa: PLC0415 - tracing loads only when asked for

    return trace_hook(path)


def _ambient_trace_hooks() -> Sequence[RunHooks]:
    """Tracing hooks from the surroundings: an active ``capture_traces()`` or ``AGENTKIT_TRACE_DIR``."""
    if "agentkit.tracing" not in sys.modules and not os.environ.get("AGENTKIT_TRACE_DIR"):
        return ()  # nothing can be active: no import, no cost
    from agentkit.tracing import ambient_hooks  # noqa: PLC0415 - tracing loads only when asked for

    return ambient_hooks()


class RunStream(Generic[OutputT]):
    """A running agent's events; use as an async context manager, then iterate.

    Leaving the ``async with`` block early cancels the run. An error that
    ends the run is raised from the iteration (and from ``__aexit__``).
    """

    def __init__(self, prompt: str | None, prepare: Callable[[], Awaitable[Run[OutputT]]]) -> None:
        self._prompt = prompt
        self._prepare = prepare
        self._task_group: anyio.abc.TaskGroup | None = None
        # The run's task appends events here; the iteration takes them. The iteration waits
        # (on an event made for that wait) only when it has taken every event so far.
        self._queue: collections.deque[Event] = collections.deque()
        self._wake: anyio.Event | None = None
        self._ended = False
        self._result: RunResult[OutputT] | None = None
        self._error: BaseException | None = None

    @property
    def result(self) -> RunResult[OutputT]:
        """The run's result, once the final event has been received."""
        if self._result is None:
            raise UserError("the run has not finished yet: iterate the stream to its end first")
        return self._result

    async def __aenter__(self) -> Self:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._drive)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._task_group is not None
        if exc_type is not None or self._result is None:
            self._task_group.cancel_scope.cancel()
        # The driver task never raises, so the group exits cleanly and an exception
        # from the ``async with`` body propagates as itself, not wrapped in a group.
        await self._task_group.__aexit__(None, None, None)
        self._queue.clear()
        return None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        queue = self._queue
        while True:
            while queue:
                yield queue.popleft()
            if self._ended:
                break
            self._wake = wake = anyio.Event()
            await wake.wait()
        if self._error is not None:
            raise self._error

    def _push(self, event: Event) -> None:
        self._queue.append(event)
        self._wake_up()

    def _wake_up(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None:
            wake.set()

    async def _drive(self) -> None:
        try:
            prepared = await self._prepare()
            self._result = await prepared.execute(self._prompt, self._push)
        except Exception as err:
            self._error = err
        finally:
            self._ended = True
            self._wake_up()
