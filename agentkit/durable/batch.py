"""Batches: many runs from a JSONL file, fanned out over worker processes on a DBOS queue.

The submitting process (the coordinator) only enqueues and watches: the worker
processes it supervises (``workers=N``), or workers started elsewhere against
the same system database (``workers=0``), execute the runs. Every run id is
``{batch_id}-{task id}``: submitting the same batch again attaches to the runs
already there instead of running them twice. The tasks of one session run one
after another, in file order; other tasks and sessions run in parallel.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import orjson
import pydantic_core
import sqlalchemy.exc
from dbos import WorkflowStatus

from agentkit.durable._batch_state import BatchState
from agentkit.durable._liveness import executor_is_live
from agentkit.durable._pool import WorkerPool, worker_command
from agentkit.durable._workflow import DurableRequest
from agentkit.durable.client import DurableClient
from agentkit.durable.runner import DEFAULT_QUEUE, DEFAULT_WORKER_CONNECTIONS, RateLimit
from agentkit.exceptions import UserError
from agentkit.usage import counted

__all__ = ["BatchConfig", "BatchSummary", "Task", "read_tasks", "run_batch"]

#: Seconds between checks for runs stuck under an executor no process runs.
_DEAD_CHECK_S = 5.0
#: Seconds without any run starting or ending, runs queued, before saying no worker takes them.
_STALL_S = 10.0
#: Milliseconds the look for ended runs reaches back before the latest end seen (a run's end
#: is stamped when its statement starts; the commit lands a moment later).
_OVERLAP_MS = 2_000
#: Seconds between looks at every ended run of the batch.
_RECONCILE_S = 10.0
#: Failed task ids the summary lists before "and N more".
_FAILED_SHOWN = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class Task:
    """One line of a tasks file: ``{"prompt": ..., "id": ..., "session": ...}`` (id and session optional)."""

    id: str
    prompt: str
    session: str | None = None


def read_tasks(path: str | os.PathLike[str]) -> list[Task]:
    """Read a JSONL tasks file; a line's ``id`` defaults to its line number.

    Raises:
        UserError: a line is not a JSON object with a string ``prompt``, or an id repeats.
    """
    tasks: list[Task] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise UserError(f"{path}:{number}: not JSON ({err})") from None
            if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
                raise UserError(f'{path}:{number}: expected an object with a string "prompt"')
            session = item.get("session")
            tasks.append(Task(id=str(item.get("id", number)), prompt=item["prompt"], session=session))
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path}: task ids must be unique")
    return tasks


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchConfig:
    """How to run a batch.

    Attributes:
        agent: ``module:attr`` (or ``/abs/path/file.py:attr``) of the agent, importable by every worker.
        database_url: the DBOS system database (SQLite file: this machine; PostgreSQL: any).
        out_dir: where ``results.jsonl`` and the per-run traces go (make it absolute: workers
            write the traces, from their own working directory).
        batch_id: prefix of every run id (the same id resumes the same batch).
        workers: worker processes to start and supervise here (0: workers run elsewhere).
        worker_concurrency: runs each worker executes at once.
        rate_limit: the global start rate, from the provider's RPM/TPM tier.
        traces: write one JSONL trace per run under ``out_dir/traces``.
        queue: the queue's name.
        poll_s: seconds between progress checks (and workers' queue polls).
        retry_failed: run the tasks whose last run failed again (a new attempt each).
        worker_connections: the most database connections each worker opens.
    """

    agent: str
    database_url: str
    out_dir: Path
    batch_id: str
    workers: int = 2
    worker_concurrency: int = 16
    rate_limit: RateLimit | None = None
    traces: bool = True
    queue: str = DEFAULT_QUEUE
    poll_s: float = 0.2
    retry_failed: bool = False
    worker_connections: int = DEFAULT_WORKER_CONNECTIONS


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchSummary:
    """What a finished batch did.

    Attributes:
        total: tasks in the batch.
        ok: tasks whose run answered.
        failed_ids: tasks whose run failed, in file order.
        seconds: the command's wall time (worker start-up included).
        results_path: the ``results.jsonl`` written.
        worker_restarts: workers restarted after they died.
        already_done: runs that had ended before this command (attached, not run again).
        resumed: runs this command found started or queued and waited for.
        retried: tasks run again by ``retry_failed``.
        ran_now: runs that ended while this command watched.
        run_rate: ``ran_now`` per second, from the first enqueue to the last run's end.
        enqueue_s: seconds the first enqueue took (every task ready at the start, in one transaction).
        collect_s: seconds from the last run's end (as the system database's clock stamped it)
            to ``results.jsonl`` written.
    """

    total: int
    ok: int
    failed_ids: tuple[str, ...]
    seconds: float
    results_path: Path
    worker_restarts: int = 0
    already_done: int = 0
    resumed: int = 0
    retried: int = 0
    ran_now: int = 0
    run_rate: float = 0.0
    enqueue_s: float = 0.0
    collect_s: float = 0.0

    @property
    def failed(self) -> int:
        """Tasks whose run failed."""
        return len(self.failed_ids)

    def __str__(self) -> str:
        lines = [
            f"{counted(self.total, 'run')}: {self.ok} ok, {self.failed} failed in {self.seconds:.1f} s; "
            f"{self.ran_now} ran now ({self.run_rate:.1f} runs/s from first enqueue to last result), "
            f"resumed {self.resumed}, already done {self.already_done}, retried {self.retried}, "
            f"worker restarts {self.worker_restarts}; results in {self.results_path}"
        ]
        if self.failed_ids:
            shown = ", ".join(self.failed_ids[:_FAILED_SHOWN])
            more = len(self.failed_ids) - _FAILED_SHOWN
            lines.append(f"failed: {shown}" + (f" and {more} more" if more > 0 else ""))
            lines.append("rerun with --retry-failed to run the failed tasks again")
        return "\n".join(lines)


def _pool(config: BatchConfig, report: Callable[[str], None]) -> WorkerPool:
    commands = {
        executor_id: worker_command(
            database_url=config.database_url,
            executor_id=executor_id,
            queue=config.queue,
            agent=config.agent,
            concurrency=config.worker_concurrency,
            poll_s=config.poll_s,
            rate_limit=config.rate_limit,
            connections=config.worker_connections,
        )
        for executor_id in (f"{config.batch_id}-worker-{i}" for i in range(config.workers))
    }
    return WorkerPool(commands, report)


async def run_batch(
    config: BatchConfig, tasks: Sequence[Task], *, report: Callable[[str], None] = lambda line: None
) -> BatchSummary:
    """Enqueue every task, supervise the workers, wait for all runs, write ``results.jsonl``.

    Raises:
        UserError: the system database does not exist (with no worker here to create it), or
            a worker could not start.
    """
    started = time.perf_counter()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    pool = _pool(config, report)
    state = BatchState.plan(config.batch_id, [(t.id, t.session) for t in tasks])
    requests = {t.id: t for t in tasks}
    client: DurableClient | None = None
    try:
        found = await _recorded(config) if config.workers else None
        if found is None:
            if config.workers:
                await pool.start()  # first: a worker creates the system database if it is new
            else:
                await anyio.to_thread.run_sync(DurableClient.check_database, config.database_url)
            found = DurableClient(config.database_url, queue=config.queue), None
        client, existing = found
        existing = await _attach(client, config, state, report, existing)
        if config.workers and not pool.started:
            if state.complete:  # a rerun of a finished batch: nothing for a worker to do
                report("nothing left to run: every task's run has ended (no worker started)")
            else:
                await pool.start()
        state.first_enqueue = time.perf_counter()
        follower = _Follower(client, f"{config.batch_id}-", state, existing)
        await _watch(follower, pool, config, state, requests, report)
        path = config.out_dir / "results.jsonl"
        _write_results(path, state)  # before the workers stop, which takes them a moment
        collect_s = follower.collect_s()
    finally:
        pool.stop()
        if client is not None:
            client.close()
    failed = tuple(state.failed_ids())
    return BatchSummary(
        total=len(state.slots),
        ok=len(state.slots) - len(failed),
        failed_ids=failed,
        seconds=time.perf_counter() - started,
        results_path=path,
        worker_restarts=pool.restarts,
        already_done=state.already_done,
        resumed=state.resumed,
        retried=len(state.retried),
        ran_now=state.finished_now,
        run_rate=state.run_rate(),
        enqueue_s=state.enqueue_s,
        collect_s=collect_s,
    )


async def _recorded(config: BatchConfig) -> tuple[DurableClient, list[WorkflowStatus] | None] | None:
    """A client and the batch's runs, read before any worker starts.

    ``None`` when the system database or its tables do not exist yet (the first worker creates them).
    """
    try:
        await anyio.to_thread.run_sync(DurableClient.check_database, config.database_url)
    except UserError:
        return None
    client = DurableClient(config.database_url, queue=config.queue)
    try:
        return client, await client.runs_with_prefix(f"{config.batch_id}-")
    except sqlalchemy.exc.DBAPIError:  # a database without DBOS's tables: no run recorded
        client.close()
        return None


async def _attach(
    client: DurableClient,
    config: BatchConfig,
    state: BatchState,
    report: Callable[[str], None],
    existing: list[WorkflowStatus] | None = None,
) -> list[WorkflowStatus]:
    """Take in the batch's runs already in the system database, say what was found, return their rows.

    ``existing``: the rows, already read (else they are read here).
    """
    if existing is None:
        existing = await client.runs_with_prefix(f"{config.batch_id}-")
    state.attach(existing, retry_failed=config.retry_failed)
    found = state.already_done + state.resumed + len(state.retried)
    if found:
        report(
            f"attached to {found} runs of batch {config.batch_id} already in the system database: "
            f"{state.already_done} already done, {state.resumed} unfinished (resumed)"
        )
    if state.retried:
        report(f"retrying {len(state.retried)} failed tasks: {', '.join(state.retried[:_FAILED_SHOWN])}")
    if not config.workers:
        report(
            f"no workers started here (--workers 0): runs wait for workers on queue {config.queue!r} "
            "of this system database (python -m agentkit.durable.worker --database URL --executor-id ID)"
        )
    return existing


async def _watch(  # noqa: PLR0917 - private, one call site
    follower: _Follower,
    pool: WorkerPool,
    config: BatchConfig,
    state: BatchState,
    tasks: dict[str, Task],
    report: Callable[[str], None],
) -> None:
    """Enqueue what is ready, follow the runs until every one ended, restart dead workers."""
    client = follower.client
    last = ""
    dead = _DeadExecutors(client.database_url, pool, report)
    stall = _Stall(config, report)
    while True:
        ready = state.ready()
        if ready:
            started = time.perf_counter()
            await client.enqueue_many(
                [(_request(config, tasks[s.task_id], s.run_id), s.run_id) for s in ready]
            )
            state.enqueued(ready)
            if not state.enqueue_s:
                state.enqueue_s = time.perf_counter() - started
                report(f"enqueued {len(ready)} runs in {state.enqueue_s:.1f} s")
        running = await follower.poll()
        line = state.progress()
        if line != last:
            last = line
            stall.moved()
            report(f"progress: {line}")
        if state.complete:
            return
        stall.check(state)
        await dead.check(running)
        await pool.revive()
        await anyio.sleep(config.poll_s)


class _Follower:
    """Follows a batch's runs with queries that do not grow with the batch.

    Each poll reads the runs that ended since the latest end seen (status rows
    only; the outputs of those not seen yet are then loaded once, a page a query)
    and the runs executing now. Every ``_RECONCILE_S`` it reads every ended run of
    the batch, which catches an end committed later than the overlap allows for.
    """

    def __init__(
        self, client: DurableClient, prefix: str, state: BatchState, ended: Sequence[WorkflowStatus] = ()
    ) -> None:
        self.client = client
        self._prefix = prefix
        self._state = state
        self._next_full = time.monotonic() + _RECONCILE_S
        #: The latest end seen among the batch's runs (``ended``: those found at the start).
        self._since_ms = _latest_end(ended)
        #: The latest end of a run that ended while followed (ms, the system database's clock).
        self.last_end_ms: int | None = None

    async def poll(self) -> list[WorkflowStatus]:
        """Take in the runs that ended and those running; return the running ones' rows."""
        since = None if self._since_ms is None else self._since_ms - _OVERLAP_MS
        if time.monotonic() >= self._next_full:
            self._next_full = time.monotonic() + _RECONCILE_S
            since = None
        ended = await self.client.ended_since(self._prefix, since)
        self._since_ms = _latest_end([*ended], self._since_ms)
        fresh = [row.workflow_id for row in ended if self._state.waits_for(row.workflow_id)]
        loaded = await self.client.outputs(fresh)
        self._state.update(loaded)
        self.last_end_ms = _latest_end(loaded, self.last_end_ms)
        running = await self.client.running(self._prefix)
        self._state.running(running)
        return running

    def collect_s(self) -> float:
        """Seconds from the latest run's end to now (0 when no run ended while followed)."""
        if self.last_end_ms is None:
            return 0.0
        return max(0.0, time.time() - self.last_end_ms / 1000)


def _latest_end(rows: Sequence[WorkflowStatus], latest: int | None = None) -> int | None:
    """The latest ``completed_at`` among ``rows`` and ``latest``."""
    ends = [row.completed_at for row in rows if row.completed_at is not None]
    if latest is not None:
        ends.append(latest)
    return max(ends, default=None)


def _request(config: BatchConfig, task: Task, run_id: str) -> DurableRequest:
    trace = str(config.out_dir / "traces" / f"{run_id}.jsonl") if config.traces else None
    return DurableRequest(agent=config.agent, prompt=task.prompt, session=task.session, trace=trace)


class _Stall:
    """Says once when runs sit queued and nothing moves for a while with no worker started here."""

    def __init__(self, config: BatchConfig, report: Callable[[str], None]) -> None:
        self._config = config
        self._report = report
        self._since = time.monotonic()
        self._told = False

    def moved(self) -> None:
        self._since = time.monotonic()

    def check(self, state: BatchState) -> None:
        if self._told or self._config.workers or time.monotonic() - self._since < _STALL_S:
            return
        queued, running = state.count("ENQUEUED"), state.count("PENDING")
        if queued and not running:
            self._told = True
            self._report(
                f"no worker has taken a run for {_STALL_S:.0f} s ({queued} queued): start one with "
                f"`python -m agentkit.durable.worker --database URL --queue {self._config.queue} "
                "--executor-id ID` against this system database"
            )


class _DeadExecutors:
    """Says when runs sit ``PENDING`` under an executor id no live process holds (once per id)."""

    def __init__(self, database_url: str, pool: WorkerPool, report: Callable[[str], None]) -> None:
        self._database_url = database_url
        self._pool = pool
        self._report = report
        self._told: set[str] = set()
        self._next = 0.0

    async def check(self, statuses: Sequence[WorkflowStatus]) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + _DEAD_CHECK_S
        ours = self._pool.executor_ids
        stuck = Counter(
            s.executor_id for s in statuses if s.status == "PENDING" and s.executor_id not in ours
        )
        for executor_id, count in stuck.items():
            if executor_id is None or executor_id in self._told:
                continue
            if await anyio.to_thread.run_sync(executor_is_live, self._database_url, executor_id):
                continue
            self._told.add(executor_id)
            self._report(
                f"{count} runs are pending under executor {executor_id!r}, which no live process runs: "
                f"restart a worker with --executor-id {executor_id} to resume them, or hand them to the "
                f"live workers with `python -m agentkit.durable.worker --database URL --executor-id NEW_ID "
                f"--adopt {executor_id}` (see docs/scaling.md)"
            )


def _write_results(path: Path, state: BatchState) -> None:
    """One line per task, in file order, from each task's latest run."""
    lines = []
    for slot in state.slots:
        record = slot.record
        assert record is not None  # every slot ended before results are written
        line: dict[str, Any] = {
            "id": slot.task_id,
            "run_id": record.run_id,
            "ok": record.ok,
            "output": pydantic_core.to_jsonable_python(record.output, fallback=str),
            "error": record.error,
            "turns": record.turns,
            "usage": pydantic_core.to_jsonable_python(record.usage),
            "cost_usd": record.cost_usd,
            "executor": slot.executor,
        }
        lines.append(orjson.dumps(line))
    path.write_bytes(b"\n".join(lines) + b"\n")
