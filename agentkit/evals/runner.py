"""Running a dataset: cases in parallel, repeated, traced, stored, resumable, offline or live.

`run_eval` runs every case ``repeat`` times through ``agent.run`` (at most
``concurrency`` at once), scores each run, appends it to the results file as soon as it
finishes, and returns a [`Report`][agentkit.evals.report.Report]. A run that raises is kept as
a failed record with its error (and the tokens and cost it had spent), never dropped.

- **Resumable**: with ``results=``, runs already in the file are skipped (failed ones too,
  unless ``rerun_failed``), so an interrupted eval continues where it stopped.
- **Traced**: each run writes a trace (``<case>.jsonl``, ``<case>-<n>.jsonl`` for later
  repetitions) to ``traces=`` (default: a folder beside the results file), which
  ``agentkit trace view`` opens.
- **Offline**: ``replay=`` names a folder of recorded traces (an earlier eval's ``traces``):
  each case is answered by [`ReplayModel`][agentkit.models.ReplayModel] from its trace, so an eval
  runs in CI with no key and no network. A case's own ``trace`` wins.
- **Cheap re-scoring**: `rescore` reruns the evaluators on stored records without
  calling the model.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pydantic_core

from agentkit._log import get_logger
from agentkit._output import OUTPUT_TOOL_NAME
from agentkit.agent import Agent
from agentkit.evals._base import Evaluator, score_run
from agentkit.evals.dataset import Case, Dataset
from agentkit.evals.judge import LLMJudge
from agentkit.evals.records import ResultsFile, RunRecord, ToolCallRecord, read_results
from agentkit.evals.report import Report
from agentkit.events import Event, ModelCallFinished, TurnFinished
from agentkit.exceptions import RunError, UserError
from agentkit.hooks import RunHooks
from agentkit.messages import AssistantMessage, Message, ToolMessage, message_to_dict
from agentkit.result import RunResult
from agentkit.tracing.writer import Origin, TraceWriter
from agentkit.usage import Usage

_log = get_logger("agentkit.evals")

__all__ = ["AgentSource", "rescore", "run_eval", "trace_name"]

#: The agent under test: one agent for every case, or a function building one per case.
AgentSource = Agent[Any] | Callable[[Case], Agent[Any]]


def trace_name(case: str, repetition: int) -> str:
    """The trace file of one run: ``<case>.jsonl``, then ``<case>-<n>.jsonl`` for repetition n >= 1."""
    return f"{case}.jsonl" if repetition == 0 else f"{case}-{repetition}.jsonl"


@dataclasses.dataclass(kw_only=True, slots=True)
class _Meter(RunHooks):
    """Counts what a run spends, so a failed run still reports its tokens and cost."""

    usage: Usage = dataclasses.field(default_factory=Usage)
    cost_usd: float = 0.0
    turns: int = 0

    def on_event(self, event: Event) -> None:
        if isinstance(event, ModelCallFinished) and event.response is not None:
            self.cost_usd += float(getattr(event.response, "cost_usd", 0.0) or 0.0)
            self.turns = max(self.turns, event.turn)
        elif isinstance(event, TurnFinished):
            self.usage = event.usage


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class _Plan:
    """One eval's settings, shared by every run."""

    dataset: Dataset
    agent: AgentSource
    evaluators: tuple[Evaluator, ...]
    traces: Path | None
    replay: Path | None
    replay_strict: bool
    run_options: Mapping[str, Any]
    trace_origin: Origin | None

    def evaluators_for(self, case: Case) -> list[Evaluator]:
        return [*self.dataset.evaluators, *case.checks, *self.evaluators]


def _failed(message: AssistantMessage, results: list[ToolMessage]) -> list[bool]:
    """Whether each call of ``message`` failed, from the results that follow it.

    agentkit answers every call, in the model's order, so results match calls by position; ids
    are the model's and not unique (two calls may share one, and only one of them be refused).
    A history written elsewhere (fewer or more results) falls back to the ids.
    """
    if len(results) == len(message.tool_calls):
        return [r.is_error for r in results]
    by_id: dict[str, bool] = {}
    for result in results:
        by_id[result.tool_call_id] = by_id.get(result.tool_call_id, False) or result.is_error
    return [by_id.get(c.id, False) for c in message.tool_calls]


def _tool_calls(messages: Sequence[Message]) -> list[ToolCallRecord]:
    """The run's tool calls in order, each marked failed when its result was an error."""
    out: list[ToolCallRecord] = []
    for index, message in enumerate(messages):
        if not isinstance(message, AssistantMessage) or not message.tool_calls:
            continue
        results: list[ToolMessage] = []
        for later in messages[index + 1 :]:
            if not isinstance(later, ToolMessage):
                break
            results.append(later)
        out.extend(
            ToolCallRecord(name=c.name, arguments=c.arguments, is_error=failed)
            for c, failed in zip(message.tool_calls, _failed(message, results), strict=True)
            if c.name != OUTPUT_TOOL_NAME
        )
    return out


def _record_ok(case: Case, repetition: int, result: RunResult[Any], latency: float) -> RunRecord:
    if result.paused:
        waiting = ", ".join(p.call.name for p in result.pending)
        raise RunError(f"the run paused for approval of {waiting}: give the agent an approver")
    messages = result.new_messages
    return RunRecord(
        case=case.name,
        repetition=repetition,
        output=pydantic_core.to_jsonable_python(result.output, fallback=str),
        messages=[message_to_dict(m) for m in messages],
        tool_calls=_tool_calls(messages),
        turns=result.turns,
        usage=dataclasses.asdict(result.usage),
        cost_usd=result.cost_usd,
        latency_s=latency,
        run_id=result.run_id,
    )


def _record_failed(case: Case, repetition: int, err: Exception, meter: _Meter, latency: float) -> RunRecord:
    messages: Sequence[Message] = getattr(err, "messages", ()) or ()
    return RunRecord(
        case=case.name,
        repetition=repetition,
        status="failed",
        error={"type": type(err).__name__, "message": str(err)[:2000]},
        messages=[message_to_dict(m) for m in messages],
        tool_calls=_tool_calls(messages),
        turns=meter.turns,
        usage=dataclasses.asdict(meter.usage),
        cost_usd=meter.cost_usd,
        latency_s=latency,
        run_id=getattr(err, "run_id", None),
    )


def _replay_trace(plan: _Plan, case: Case, repetition: int) -> Path:
    if case.trace is not None:
        return Path(case.trace)
    assert plan.replay is not None
    path = plan.replay / trace_name(case.name, repetition)
    return path if path.exists() or repetition == 0 else plan.replay / trace_name(case.name, 0)


def _agent_for(plan: _Plan, case: Case, repetition: int) -> tuple[Agent[Any], Any]:
    """The agent for one run, answered from its recorded trace when the eval is offline."""
    agent = plan.agent if isinstance(plan.agent, Agent) else plan.agent(case)
    if plan.replay is None and case.trace is None:
        return agent, None
    from agentkit.models.replay import ReplayModel  # noqa: PLC0415 - only offline evals replay

    path = _replay_trace(plan, case, repetition)
    if not path.exists():
        raise UserError(f"no recorded trace for case {case.name!r}: {path} does not exist")
    replay = ReplayModel.from_trace(path, strict=plan.replay_strict)
    return agent.replace(model=replay), replay


def _origin(plan: _Plan, replay: Any) -> Origin | None:
    """The new trace's origin: as asked, else, for a replayed run, the recording's own."""
    if plan.trace_origin is not None or replay is None:
        return plan.trace_origin
    recorded = replay.trace.origin
    return "recorded" if recorded == "recorded" else "authored"


async def _run_one(plan: _Plan, case: Case, repetition: int) -> RunRecord:
    """Run one case once; any failure becomes a failed record."""
    meter = _Meter()
    trace = None if plan.traces is None else plan.traces / trace_name(case.name, repetition)
    started = time.perf_counter()
    try:
        agent, replay = _agent_for(plan, case, repetition)
        kwargs: dict[str, Any] = {**plan.run_options, "hooks": [*plan.run_options.get("hooks", ()), meter]}
        if trace is not None:
            kwargs["trace"] = TraceWriter(trace, origin=_origin(plan, replay))
        result: RunResult[Any] = await agent.run(case.prompt, **kwargs)
        if replay is not None:
            replay.finish()
        record = _record_ok(case, repetition, result, time.perf_counter() - started)
        record.model = str(getattr(agent.model, "model_name", "") or "") or None
    except Exception as err:  # a failed run is a result, never lost
        record = _record_failed(case, repetition, err, meter, time.perf_counter() - started)
    if trace is not None and trace.exists():
        record = record.model_copy(update={"trace": str(trace)})
    return await score_run(plan.evaluators_for(case), case, record)


def _with_judge(evaluators: Sequence[Evaluator], judge_model: Any) -> list[Evaluator]:
    """Give ``judge_model`` to every LLM judge that has none."""
    if judge_model is None:
        return list(evaluators)
    return [
        e.model_copy(update={"model": judge_model}) if isinstance(e, LLMJudge) and e.model is None else e
        for e in evaluators
    ]


def _judged(dataset: Dataset, judge_model: Any) -> Dataset:
    if judge_model is None:
        return dataset
    cases = [c.model_copy(update={"checks": _with_judge(c.checks, judge_model)}) for c in dataset.cases]
    return dataset.model_copy(
        update={"cases": cases, "evaluators": _with_judge(dataset.evaluators, judge_model)}
    )


def _model_name(agent: AgentSource) -> str | None:
    if isinstance(agent, Agent):
        return str(getattr(agent.model, "model_name", None) or "") or None
    return None


def _header(name: str, dataset: Dataset, agent: AgentSource, repeat: int, offline: bool) -> dict[str, Any]:
    return {
        "experiment": name,
        "dataset": dataset.name,
        "model": _model_name(agent),
        "repeat": repeat,
        "offline": offline,
        "started_at": time.time(),
    }


def _finished(results: Path | None, dataset: Dataset, rerun_failed: bool) -> dict[tuple[str, int], RunRecord]:
    if results is None or not results.exists() or results.stat().st_size == 0:
        return {}
    header, records = read_results(results)
    if header.get("dataset") not in (None, dataset.name):
        raise UserError(
            f"{results} holds results of dataset {header.get('dataset')!r}, not {dataset.name!r}: "
            "use another results file"
        )
    return {r.key: r for r in records if r.status == "ok" or not rerun_failed}


async def run_eval(
    dataset: Dataset,
    agent: AgentSource,
    *,
    name: str = "experiment",
    results: str | os.PathLike[str] | None = None,
    repeat: int = 1,
    concurrency: int = 8,
    evaluators: Sequence[Evaluator] = (),
    judge_model: Any = None,
    traces: str | os.PathLike[str] | None = None,
    replay: str | os.PathLike[str] | None = None,
    replay_strict: bool = True,
    rerun_failed: bool = False,
    run_options: Mapping[str, Any] | None = None,
    trace_origin: Origin | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
) -> Report:
    """Run every case of ``dataset`` ``repeat`` times through ``agent``; score, store, report.

    Args:
        dataset: the cases and their evaluators.
        agent: an [`Agent`][agentkit.Agent], or ``fn(case) -> Agent`` for a fresh agent per case.
        name: the experiment's name (reports and comparisons show it).
        results: the JSONL results file; runs already in it are skipped (resume).
        repeat: runs per case (models are stochastic: the report shows mean and spread).
        concurrency: runs at once.
        evaluators: extra evaluators for every case (Python-only ones: functions, judges).
        judge_model: the model of every [`LLMJudge`][agentkit.evals.LLMJudge] that has none.
        traces: folder for one trace per run (default: ``<results>.traces`` beside the file).
        replay: folder of recorded traces to answer from instead of the agent's model (offline).
        replay_strict: compare each request with the recording (see ``ReplayModel``).
        rerun_failed: on resume, run again the runs that failed.
        run_options: options of every ``agent.run`` (``approve``, ``deps``, ``timeout_s``,
            ``usage_limits``, ...; see [`RunOptions`][agentkit.result.RunOptions]).
        trace_origin: the traces' ``origin`` (default: a replayed run keeps its recording's,
            a live one is decided by the writer; ``"authored"`` for runs against a scripted
            server that are committed as fixtures).
        on_result: called with each finished record (progress displays).

    Raises:
        UserError: bad settings, or ``results`` holds another dataset's runs.
    """
    if repeat < 1 or concurrency < 1:
        raise UserError("repeat and concurrency must be >= 1")
    if run_options and {"trace", "message_history", "prefill"} & set(run_options):
        raise UserError(
            "run_options cannot set trace, message_history or prefill: the eval sets them per case"
        )
    store = None if results is None else Path(results)
    trace_dir = Path(traces) if traces is not None else (None if store is None else _traces_beside(store))
    judged = _judged(dataset, judge_model)
    plan = _Plan(
        dataset=judged,
        agent=agent,
        evaluators=tuple(_with_judge(evaluators, judge_model)),
        traces=trace_dir,
        replay=None if replay is None else Path(replay),
        replay_strict=replay_strict,
        run_options=dict(run_options or {}),
        trace_origin=trace_origin,
    )
    done = _finished(store, dataset, rerun_failed)
    records = dict(done)
    header = _header(name, dataset, agent, repeat, offline=replay is not None)
    file = None if store is None else ResultsFile(store, header)
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(case: Case, repetition: int) -> None:
        async with limiter:
            record = await _run_one(plan, case, repetition)
        records[record.key] = record
        if file is not None:
            file.append(record)
        if on_result is not None:
            try:
                on_result(record)
            except Exception:  # a broken progress display must not stop the eval
                _log.warning("eval.on_result_failed", case=record.case, exc_info=True)

    try:
        async with anyio.create_task_group() as group:
            for repetition in range(repeat):
                for case in judged.cases:
                    if (case.name, repetition) not in done:
                        group.start_soon(one, case, repetition)
    finally:
        if file is not None:
            file.close()
    ordered = [records[(c.name, r)] for r in range(repeat) for c in judged.cases if (c.name, r) in records]
    return Report.build(name=name, dataset=dataset.name, model=header["model"], records=ordered)


def _traces_beside(store: Path) -> Path:
    return store.with_name(store.stem + ".traces")


async def rescore(
    dataset: Dataset,
    results: str | os.PathLike[str],
    *,
    evaluators: Sequence[Evaluator] = (),
    judge_model: Any = None,
    name: str | None = None,
) -> Report:
    """Score the runs stored in ``results`` again (changed evaluators), without calling the agent.

    The file is rewritten with the new scores (atomically: a crash leaves the old file).

    Raises:
        UserError: ``results`` is not a results file.
    """
    source = Path(results)
    header, records = read_results(source)
    judged = _judged(dataset, judge_model)
    extra = _with_judge(evaluators, judge_model)
    by_name = {c.name: c for c in judged.cases}
    scored: list[RunRecord] = []
    for record in records:
        case = by_name.get(record.case)
        if case is None:
            continue  # a case no longer in the dataset
        scored.append(await score_run([*judged.evaluators, *case.checks, *extra], case, record))
    temporary = source.with_name(source.name + ".rescoring")
    with ResultsFile(temporary, {k: v for k, v in header.items() if k not in ("type", "version")}) as out:
        for record in scored:
            out.append(record)
    temporary.replace(source)
    experiment = name or str(header.get("experiment") or source.stem)
    return Report.build(name=experiment, dataset=dataset.name, model=header.get("model"), records=scored)
