"""Batches: many runs from a JSONL file, fanned out over worker processes on a DBOS queue.

The submitting process only enqueues and watches (it executes nothing); the
worker processes it supervises (``workers=N``), or workers started elsewhere
against the same PostgreSQL system database (``workers=0``), execute the runs.
A worker that dies is restarted under its executor id, so its runs resume.
Every run id is ``{batch_id}-{task id}``: submitting the same batch again
attaches to the runs already there instead of running them twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.to_thread
import orjson
import pydantic_core
from dbos import WorkflowStatus

from agentkit.durable._liveness import executor_is_live
from agentkit.durable._workflow import DurableRequest, RunRecord
from agentkit.durable.client import DurableClient
from agentkit.durable.runner import DEFAULT_QUEUE, Progress, RateLimit
from agentkit.exceptions import UserError

__all__ = ["BatchConfig", "BatchSummary", "Task", "WorkerPool", "read_tasks", "run_batch"]

#: Seconds a worker the pool starts waits for an earlier process under its executor id to exit.
_EXECUTOR_WAIT_S = 300.0
#: Seconds the pool gives its workers to stop cleanly before killing them.
_STOP_WAIT_S = 75.0
#: Seconds between checks for runs stuck under an executor no process runs.
_DEAD_CHECK_S = 5.0


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
        agent: ``module:attr`` (or ``path/file.py:attr``) of the agent, importable by every worker.
        database_url: the DBOS system database (SQLite file: this machine; PostgreSQL: any).
        out_dir: where ``results.jsonl`` and the per-run traces go.
        batch_id: prefix of every run id (the same id resumes the same batch).
        workers: worker processes to start and supervise here (0: workers run elsewhere).
        worker_concurrency: runs each worker executes at once.
        rate_limit: the global start rate, from the provider's RPM/TPM tier.
        traces: write one JSONL trace per run under ``out_dir/traces``.
        queue: the queue's name.
        poll_s: seconds between progress checks (and workers' queue polls).
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


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchSummary:
    """What a finished batch did."""

    total: int
    ok: int
    failed: int
    seconds: float
    results_path: Path
    worker_restarts: int = 0
    #: From the last run enqueued to the last run finished (worker start-up not included).
    run_seconds: float = 0.0

    def __str__(self) -> str:
        rate = self.total / self.run_seconds if self.run_seconds > 0 else 0.0
        return (
            f"{self.total} runs: {self.ok} ok, {self.failed} failed in {self.seconds:.1f} s "
            f"({rate:.1f} runs/s once queued); results in {self.results_path}"
        )


class WorkerPool:
    """Worker processes of one batch, each under a fixed executor id; dead ones are restarted."""

    def __init__(self, config: BatchConfig, report: Callable[[str], None]) -> None:
        self._config = config
        self._report = report
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts = 0

    def _command(self, executor_id: str) -> list[str]:
        config = self._config
        command = [sys.executable, "-m", "agentkit.durable.worker", "--database", config.database_url]
        command += ["--executor-id", executor_id, "--queue", config.queue]
        command += ["--concurrency", str(config.worker_concurrency), "--poll", str(config.poll_s)]
        # Exit with this process (its pipe closes when it dies); wait for an earlier worker under
        # the same id (a killed coordinator's, finishing its steps) instead of refusing to start.
        command += ["--watch-stdin", "--wait-executor", str(_EXECUTOR_WAIT_S), "--agent", config.agent]
        rate = config.rate_limit
        if rate is not None:
            for flag, value in (("--rpm", rate.rpm), ("--tpm", rate.tpm)):
                if value is not None:
                    command += [flag, str(value)]
            command += ["--requests-per-run", str(rate.requests_per_run)]
            command += ["--tokens-per-run", str(rate.tokens_per_run)]
        return command

    async def start(self) -> None:
        """Start every worker at once, then wait until each listens."""
        ids = [f"{self._config.batch_id}-worker-{index}" for index in range(self._config.workers)]
        for executor_id in ids:
            self._spawn(executor_id)
        for executor_id in ids:
            await self._wait_ready(executor_id)

    def _spawn(self, executor_id: str) -> None:
        # A long-lived child, never waited on here: Popen returns at once (S603: our own module).
        command = self._command(executor_id)
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: S603
        self._procs[executor_id] = proc

    async def _wait_ready(self, executor_id: str) -> None:
        proc = self._procs[executor_id]
        assert proc.stdout is not None
        line = await anyio.to_thread.run_sync(_read_line, proc.stdout)
        if line.strip() != b"ready":
            code = await anyio.to_thread.run_sync(proc.wait)
            raise UserError(f"worker {executor_id} did not start (exit status {code}; its message is above)")

    async def revive(self) -> None:
        """Restart any worker that has exited, under the same executor id (its runs resume)."""
        for executor_id, proc in list(self._procs.items()):
            code = proc.poll()
            if code is not None:
                self.restarts += 1
                self._report(f"{executor_id} exited (status {code}); restarting it, its runs resume")
                self._spawn(executor_id)
                await self._wait_ready(executor_id)

    @property
    def executor_ids(self) -> list[str]:
        """The executor ids of this pool's workers."""
        return list(self._procs)

    def stop(self) -> None:
        """Stop every worker (SIGTERM: each finishes its running steps and hands its runs back)."""
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(timeout=_STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _read_line(stream: IO[bytes]) -> bytes:
    return stream.readline()


def run_id_of(batch_id: str, task: Task) -> str:
    """The run id of ``task`` in batch ``batch_id``."""
    return f"{batch_id}-{task.id}"


async def run_batch(
    config: BatchConfig, tasks: Sequence[Task], *, report: Callable[[str], None] = lambda line: None
) -> BatchSummary:
    """Enqueue every task, supervise the workers, wait for all runs, write ``results.jsonl``."""
    started = time.perf_counter()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    pool = WorkerPool(config, report)
    client: DurableClient | None = None
    try:
        await pool.start()  # first: a worker creates the system database if it is new
        client = DurableClient(config.database_url, queue=config.queue)
        ids = [await _enqueue(client, config, task) for task in tasks]
        report(f"enqueued {len(ids)} runs on queue {config.queue!r} (batch {config.batch_id})")
        enqueued = time.perf_counter()
        await _wait(client, pool, ids, config.poll_s, report)
        run_seconds = time.perf_counter() - enqueued
        records = [await client.result(run_id) for run_id in ids]
        executors = await _executors(client, ids)
    finally:
        pool.stop()
        if client is not None:
            client.close()
    path = config.out_dir / "results.jsonl"
    _write_results(path, tasks, records, executors)
    ok = sum(r.ok for r in records)
    return BatchSummary(
        total=len(records),
        ok=ok,
        failed=len(records) - ok,
        seconds=time.perf_counter() - started,
        results_path=path,
        worker_restarts=pool.restarts,
        run_seconds=run_seconds,
    )


async def _enqueue(client: DurableClient, config: BatchConfig, task: Task) -> str:
    run_id = run_id_of(config.batch_id, task)
    trace = str(config.out_dir / "traces" / f"{run_id}.jsonl") if config.traces else None
    request = DurableRequest(agent=config.agent, prompt=task.prompt, session=task.session, trace=trace)
    return await client.enqueue(request, run_id=run_id)


async def _wait(
    client: DurableClient,
    pool: WorkerPool,
    ids: Sequence[str],
    poll_s: float,
    report: Callable[[str], None],
) -> None:
    last = ""
    dead = _DeadExecutors(client.database_url, pool, report)
    while True:
        statuses = await client.statuses(ids)
        progress = Progress(total=len(ids), counts=dict(Counter(s.status for s in statuses)))
        if str(progress) != last:
            last = str(progress)
            report(f"progress: {last}")
        if progress.done >= len(ids):
            return
        await dead.check(statuses)
        await pool.revive()
        await anyio.sleep(poll_s)


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
        stuck = Counter(
            s.executor_id
            for s in statuses
            if s.status == "PENDING" and s.executor_id not in self._pool.executor_ids
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


async def _executors(client: DurableClient, ids: Sequence[str]) -> dict[str, str]:
    statuses = await client.statuses(ids)
    return {s.workflow_id: s.executor_id or "" for s in statuses}


def _write_results(
    path: Path, tasks: Sequence[Task], records: Sequence[RunRecord], executors: dict[str, str]
) -> None:
    with path.open("wb") as out:
        for task, record in zip(tasks, records, strict=True):
            line: dict[str, Any] = {
                "id": task.id,
                "run_id": record.run_id,
                "ok": record.ok,
                "output": pydantic_core.to_jsonable_python(record.output, fallback=str),
                "error": record.error,
                "turns": record.turns,
                "usage": pydantic_core.to_jsonable_python(record.usage),
                "cost_usd": record.cost_usd,
                "executor": executors.get(record.run_id, ""),
            }
            out.write(orjson.dumps(line) + b"\n")
