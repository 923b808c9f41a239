"""The agent-run workflow: one `Agent.run` as one DBOS workflow.

A workflow's input and output are stored in the system database, so they
are plain values: the agent is named (a registered name, or ``module:attr``
that any worker process can import), and the run ends as a
`RunRecord` whether the agent answered or failed.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any

from dbos import DBOS
from dbos._context import get_local_dbos_context

from agentkit._log import get_logger
from agentkit.agent import Agent
from agentkit.durable._checkpoints import current_store
from agentkit.durable._steps import (
    CURRENT_RUN,
    DurableMemory,
    DurableModel,
    DurableTool,
    DurableToolSource,
    RunSteps,
)
from agentkit.exceptions import RunError, UserError
from agentkit.messages import Message
from agentkit.result import RunKwargs
from agentkit.usage import Usage

__all__ = ["RUN_WORKFLOW_NAME", "DurableRequest", "RunRecord", "durable_agent", "register_agent", "run_agent"]

_log = get_logger("agentkit.durable")

#: The name the agent-run workflow is registered under (queues and clients refer to it).
RUN_WORKFLOW_NAME = "agentkit.run"

_agents: dict[str, Agent[Any]] = {}
_durable: dict[str, Agent[Any]] = {}
_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True, slots=True)
class DurableRequest:
    """One run to execute durably; every field is stored in the system database.

    Attributes:
        agent: a name given to `register_agent`, or ``"module:attr"`` naming an
            [`Agent`][agentkit.Agent] any worker can import.
        prompt: the user prompt.
        session: continue and extend this stored session (the agent needs a memory).
        trace: write the run's JSONL trace to this path.
        deps: ``RunContext.deps`` for the tools (must be picklable).
        max_turns: override the agent's turn limit.
        timeout_s: wall-clock limit of one execution of the run.
    """

    agent: str
    prompt: str | None
    session: str | None = None
    trace: str | None = None
    deps: Any = None
    max_turns: int | None = None
    timeout_s: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RunRecord:
    """How a durable run ended: its output, or the error that ended it.

    Attributes:
        run_id: the workflow id (given when starting, or generated).
        output: the final answer (``None`` when the run failed).
        error: ``"ErrorType: message"`` when the run failed, else ``None``.
        usage: tokens and calls spent (the executions that completed each step).
        cost_usd: cost at the provider's prices.
        turns: model turns taken.
        messages: the conversation, as `RunResult.messages` (or as far as it got).
    """

    run_id: str
    output: Any = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    turns: int = 0
    messages: tuple[Message, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the agent gave a final answer."""
        return self.error is None


def register_agent(name: str, agent: Agent[Any]) -> None:
    """Make ``agent`` runnable durably as ``name`` in this process.

    Every worker process that may execute (or recover) its runs must register
    it under the same name before it launches, or the runs must name it as
    ``module:attr``.
    """
    with _lock:
        _agents[name] = agent
        _durable.pop(name, None)


def durable_agent(name: str) -> Agent[Any]:
    """The agent called ``name``, with its model calls, tool calls and memory as steps.

    Raises:
        UserError: no agent of that name is registered and it is not an importable ``module:attr``.
    """
    with _lock:
        found = _durable.get(name)
        if found is None:
            found = _durable[name] = _make_durable(_agents.get(name) or _import_agent(name))
        return found


def _import_agent(ref: str) -> Agent[Any]:
    location = ref.rpartition(":")[0] or ref
    if location.endswith(".py") or "/" in location:  # a file: the CLI's loader imports it by path
        from agentkit.cli._load import load_agent  # noqa: PLC0415 - only for path/file.py:attr

        return load_agent(ref, None)
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UserError(f"unknown agent {ref!r}: register_agent() it, or name it as 'module:attr'")
    value: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        value = getattr(value, part)
    if callable(value) and not isinstance(value, Agent):
        value = value()
    if not isinstance(value, Agent):
        raise UserError(f"{ref!r} is a {type(value).__name__}, not an agentkit Agent")
    return value


def _make_durable(agent: Agent[Any]) -> Agent[Any]:
    """A copy of ``agent`` whose model, tools and memory are checkpointed steps."""
    return agent.replace(
        model=DurableModel(agent.model),
        tools=[
            *(DurableTool.wrap(t) for t in agent.toolset),
            *(DurableToolSource(s) for s in agent.tool_sources),
        ],
        memory=None if agent.memory is None else DurableMemory(agent.memory),
    )


async def _run_steps(workflow_id: str) -> RunSteps:
    """This execution's step bookkeeping, with the checkpoints recorded before it (one query)."""
    ctx = get_local_dbos_context()
    owner = None if ctx is None else ctx.owner_xid
    if owner is None:  # DBOS gives every execution of a workflow a token
        raise UserError(f"run {workflow_id!r} has no ownership token: it is not executing as a DBOS workflow")
    store = current_store()
    return RunSteps(workflow_id=workflow_id, owner=owner, store=store, recorded=await store.load(workflow_id))


@DBOS.workflow(name=RUN_WORKFLOW_NAME)
async def run_agent(request: DurableRequest) -> RunRecord:
    """The workflow: run the agent once, each model and tool call a checkpointed step; never raises."""
    workflow_id = DBOS.workflow_id or ""
    try:
        agent = durable_agent(request.agent)
    except Exception as err:  # a failed run, retryable (--retry-failed) once the agent imports
        error = f"{type(err).__name__}: cannot load the agent {request.agent!r}: {err}"
        _log.warning("durable_run_failed", run_id=workflow_id, error=error)
        return RunRecord(run_id=workflow_id, error=error)
    options: RunKwargs = {"run_id": workflow_id}
    if request.session is not None:
        options["session"] = request.session
    if request.trace is not None:
        options["trace"] = request.trace
    if request.deps is not None:
        options["deps"] = request.deps
    if request.max_turns is not None:
        options["max_turns"] = request.max_turns
    if request.timeout_s is not None:
        options["timeout_s"] = request.timeout_s
    token = CURRENT_RUN.set(await _run_steps(workflow_id))
    try:
        result = await agent.run(request.prompt, **options)
    except RunError as err:
        _log.warning("durable_run_failed", run_id=workflow_id, error=f"{type(err).__name__}: {err}")
        return RunRecord(
            run_id=workflow_id,
            error=f"{type(err).__name__}: {err}",
            usage=err.usage or Usage(),
            cost_usd=err.cost_usd,
            turns=err.turns,
            messages=tuple(err.messages),
        )
    finally:
        CURRENT_RUN.reset(token)
    if result.paused:  # nobody can approve inside a worker: report it, with the conversation
        waiting = ", ".join(f"{p.agent}: {p.call.name}" if p.agent else p.call.name for p in result.pending)
        error = f"RunPaused: tool calls wait for approval ({waiting}); give the agent an approver"
        return RunRecord(
            run_id=workflow_id,
            error=error,
            usage=result.usage,
            cost_usd=result.cost_usd,
            turns=result.turns,
            messages=result.messages,
        )
    return RunRecord(
        run_id=workflow_id,
        output=result.output,
        usage=result.usage,
        cost_usd=result.cost_usd,
        turns=result.turns,
        messages=result.messages,
    )
