"""DurableRunner: agent runs as DBOS workflows, run directly or fanned out on a queue.

One runner per process (DBOS keeps one instance per process). The system
database is SQLite (one file: one machine) or PostgreSQL (shared by every
worker process on every machine). Launching recovers the runs this
executor left unfinished.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.to_thread
from dbos import DBOS, DBOSConfig, SetWorkflowID, WorkflowHandleAsync

from agentkit._log import get_logger
from agentkit.agent import Agent
from agentkit.durable._checkpoints import CheckpointStore, PostgresCheckpoints, SQLiteCheckpoints, use_store
from agentkit.durable._liveness import ExecutorLock, is_postgres, libpq_url, sqlite_path
from agentkit.durable._workflow import DurableRequest, RunRecord, register_agent, run_agent
from agentkit.exceptions import UserError

__all__ = [
    "DEFAULT_QUEUE",
    "DEFAULT_WORKER_CONNECTIONS",
    "MIN_CONNECTIONS",
    "DurableRunner",
    "Progress",
    "QueueConfig",
    "RateLimit",
]

_log = get_logger("agentkit.durable")

#: How often a waiting caller looks for a queued run's result.
_POLL_S = 0.1

#: Connections a process holds outside DBOS's pool: the executor lock's and the notification listener's.
_OUTSIDE_POOL = 2
#: The smallest connection budget: DBOS's pool and the checkpoints' pool two each.
MIN_CONNECTIONS = _OUTSIDE_POOL + 4
#: Checkpoint connections when no budget is given (DBOS then keeps its default pool of 20).
_DEFAULT_CHECKPOINT_CONNECTIONS = 8
#: Connections one worker opens at most unless told otherwise: six workers and a coordinator
#: stay well under PostgreSQL's default ``max_connections=100``.
DEFAULT_WORKER_CONNECTIONS = 10

#: Seconds a stopping worker waits for DBOS's background threads (the queue poller ends within one poll).
_STOP_THREADS_S = 5.0

#: The queue fan-out uses unless told otherwise.
DEFAULT_QUEUE = "agentkit-runs"


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimit:
    """A global limit on run starts per minute, derived from the provider's RPM/TPM tier.

    DBOS enforces it across every worker sharing the system database, by
    limiting how many queued runs start per period. A run makes several
    requests and spends many tokens, so give the averages of your workload:
    the limit is the tighter of ``rpm / requests_per_run`` and
    ``tpm / tokens_per_run`` (Moonshot counts prompt + ``max_tokens`` toward TPM).

    >>> RateLimit(rpm=500, tpm=128_000, requests_per_run=3, tokens_per_run=4_000).runs_per_minute
    32

    Attributes:
        rpm: the tier's requests per minute (``None``: no request limit).
        tpm: the tier's tokens per minute (``None``: no token limit).
        requests_per_run: model requests one run makes, on average.
        tokens_per_run: tokens one run counts against TPM, on average.
    """

    rpm: int | None = None
    tpm: int | None = None
    requests_per_run: float = 1.0
    tokens_per_run: float = 1.0

    @property
    def runs_per_minute(self) -> int | None:
        """Run starts allowed per minute (at least 1), or ``None`` for no limit."""
        limits = [
            budget / per
            for budget, per in ((self.rpm, self.requests_per_run), (self.tpm, self.tokens_per_run))
            if budget is not None
        ]
        return max(1, math.floor(min(limits))) if limits else None


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueConfig:
    """The fan-out queue every worker listens on; all workers must agree on it.

    Attributes:
        name: the queue's name.
        worker_concurrency: runs one worker process executes at once.
        rate_limit: the global start rate (``None``: unlimited).
        polling_interval_s: how often a worker looks for queued runs.
    """

    name: str = DEFAULT_QUEUE
    worker_concurrency: int = 16
    rate_limit: RateLimit | None = None
    polling_interval_s: float = 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """How far a set of runs has got (from DBOS's workflow statuses)."""

    total: int
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        """Runs that finished (answered, failed or cancelled)."""
        return sum(
            self.counts.get(s, 0) for s in ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
        )

    def __str__(self) -> str:
        detail = ", ".join(f"{k.lower()} {v}" for k, v in sorted(self.counts.items()))
        return f"{self.done}/{self.total} done ({detail})"


def _use_wal(database_url: str) -> None:
    """Put a SQLite system database in WAL mode (persistent in the file) before DBOS opens it.

    DBOS opens SQLite in its default rollback-journal mode, which syncs several
    times per step; in WAL mode a checkpoint costs one sync, and readers in other
    worker processes do not block the writer.
    """
    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")


class DurableRunner:
    """Runs agents durably: each run a DBOS workflow, each model and tool call a checkpointed step.

    Example::

        runner = DurableRunner("sqlite:///runs.sqlite", agents={"trip": trip_agent})
        async with runner:
            record = await runner.run(DurableRequest(agent="trip", prompt="Osaka?"), run_id="order-42")

    Args:
        database_url: the DBOS system database: ``sqlite:///path`` or ``postgresql://...``.
        app_name: the DBOS application name (workers of one application share it).
        executor_id: this process's identity; a restarted worker must reuse its id to
            recover the runs it left unfinished (``None``: DBOS's default, ``"local"``).
        agents: agents to register by name (see `register_agent`).
        queue: the fan-out queue's settings.
        log_level: DBOS's own log level.
        executor_wait_s: how long launching waits for another process to let go of
            ``executor_id`` before raising [`ExecutorLive`][agentkit.durable._liveness.ExecutorLive].
        connections: the most database connections this process opens (its executor lock,
            DBOS's notification listener, DBOS's pool and the checkpoints' pool, which get half
            each of the rest); ``None``: DBOS's default pool of 20 and 8 for the checkpoints.
    """

    def __init__(
        self,
        database_url: str = "sqlite:///agentkit-runs.sqlite",
        *,
        app_name: str = "agentkit",
        executor_id: str | None = None,
        agents: Mapping[str, Agent[Any]] | None = None,
        queue: QueueConfig | None = None,
        log_level: str = "WARNING",
        executor_wait_s: float = 0.0,
        connections: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.executor_id = executor_id or "local"
        self._lock = ExecutorLock(database_url, self.executor_id)
        self._executor_wait_s = executor_wait_s
        #: Called once when launching waits for another process under the same executor id.
        self.on_executor_wait: Callable[[], None] | None = None
        self.queue = queue or QueueConfig()
        self._config: DBOSConfig = {
            "name": app_name,
            "system_database_url": database_url,
            "log_level": log_level,
        }
        if executor_id is not None:
            self._config["executor_id"] = executor_id
        # No "SELECT 1" before each checkpoint's transaction (DBOS's default): a connection
        # that died is retried by DBOS's own retry of connection errors (4-5 % of a worker's CPU).
        self._config["db_engine_kwargs"] = {"pool_pre_ping": False}
        self._checkpoint_connections = _DEFAULT_CHECKPOINT_CONNECTIONS
        if connections is not None:
            if connections < MIN_CONNECTIONS:
                raise UserError(f"connections must be at least {MIN_CONNECTIONS}, not {connections}")
            pools = connections - _OUTSIDE_POOL
            self._config["sys_db_pool_size"] = pools - pools // 2
            self._checkpoint_connections = pools // 2
        self._checkpoints: CheckpointStore | None = None
        for name, agent in (agents or {}).items():
            register_agent(name, agent)
        self._launched = False

    async def launch(self) -> None:
        """Start DBOS: open the system database, recover unfinished runs, register the queue."""
        if self._launched:
            return
        _use_wal(self.database_url)
        await anyio.to_thread.run_sync(
            lambda: self._lock.acquire(wait_s=self._executor_wait_s, on_wait=self.on_executor_wait)
        )
        try:
            DBOS(config=self._config)
            DBOS.launch()
            await self._open_checkpoints()
        except BaseException:
            self._lock.release()
            raise
        per_minute = self.queue.rate_limit.runs_per_minute if self.queue.rate_limit else None
        await DBOS.register_queue_async(
            self.queue.name,
            worker_concurrency=self.queue.worker_concurrency,
            limiter=None if per_minute is None else {"limit": per_minute, "period": 60.0},
            polling_interval_sec=self.queue.polling_interval_s,
        )
        self._launched = True
        _log.info(
            "durable_launched", executor_id=self._config.get("executor_id", "local"), queue=self.queue.name
        )

    async def _open_checkpoints(self) -> None:
        """Make the checkpoint table if needed and route this process's checkpoints to it."""
        from dbos._dbos import _get_dbos_instance  # noqa: PLC0415 - DBOS's configured system schema

        path = sqlite_path(self.database_url)
        store: PostgresCheckpoints | SQLiteCheckpoints
        if path is not None:
            store = SQLiteCheckpoints(path)
        elif not is_postgres(self.database_url):
            raise UserError(
                f"durable runs need a SQLite file or PostgreSQL, not {self.database_url.split(':')[0]}"
            )
        else:
            schema = _get_dbos_instance()._sys_db.schema or "dbos"
            conninfo = libpq_url(self.database_url)
            store = PostgresCheckpoints(
                conninfo, dbos_schema=schema, connections=self._checkpoint_connections
            )
        await anyio.to_thread.run_sync(store.setup)
        self._checkpoints = store
        use_store(store)

    def shutdown(self) -> None:
        """Stop DBOS in this process (unfinished runs stay recoverable)."""
        if self._launched:
            if self._checkpoints is not None:
                self._checkpoints.close()
                use_store(None)
                self._checkpoints = None
            DBOS.destroy(workflow_completion_timeout_sec=0)
            self._launched = False
            self._lock.release()

    async def stop_taking_runs(self) -> None:
        """Stop DBOS's background threads (the queue poller among them): no new run starts here.

        The system database stays open, for `release_executor`.
        """
        from dbos._dbos import _get_dbos_instance  # noqa: PLC0415 - DBOS has no public "stop polling" call

        dbos = _get_dbos_instance()
        for event in dbos.background_thread_stop_events:
            event.set()
        deadline = time.monotonic() + _STOP_THREADS_S
        for thread in list(dbos._background_threads):
            await anyio.to_thread.run_sync(thread.join, max(0.0, deadline - time.monotonic()))

    def lock_held(self) -> bool:
        """Whether this runner still holds its executor id's lock."""
        return self._lock.check()

    async def release_executor(self, executor_id: str, *, own: bool = False) -> int:
        """Put the runs ``executor_id`` left pending back on the queue, for any worker; return how many.

        Only a dead executor's runs (or, with ``own``, this runner's own, when it
        stops) can be handed over: its lock is taken for the while.

        Raises:
            ExecutorLive: a live process runs under ``executor_id``.
        """
        self._require_launched()
        lock = None if own else ExecutorLock(self.database_url, executor_id)
        if lock is not None:
            await anyio.to_thread.run_sync(lock.acquire)
        try:
            pending = await DBOS.list_workflows_async(
                status="PENDING", executor_id=executor_id, load_input=False, load_output=False
            )
            ids = [s.workflow_id for s in pending]
            if ids:
                await DBOS.resume_workflows_async(ids, queue_name=self.queue.name)
        finally:
            if lock is not None:
                lock.release()
        _log.info("durable_released", executor_id=executor_id, runs=len(ids))
        return len(ids)

    async def __aenter__(self) -> Self:
        await self.launch()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._checkpoints is not None:  # this loop's connections, here; the others' in shutdown
            await self._checkpoints.aclose()
        self.shutdown()

    async def run(self, request: DurableRequest, *, run_id: str | None = None) -> RunRecord:
        """Run now, in this process, and wait for the record.

        A ``run_id`` already used returns that run's record (finishing it first if
        it is still pending) instead of running again.
        """
        self._require_launched()
        with SetWorkflowID(run_id or uuid.uuid4().hex):
            handle = await DBOS.start_workflow_async(run_agent, request)
        try:
            record: RunRecord = await handle.get_result()
        except Exception as err:  # the workflow itself failed (e.g. an unknown agent): report it
            return RunRecord(run_id=handle.get_workflow_id(), error=f"{type(err).__name__}: {err}")
        return record

    async def enqueue(self, request: DurableRequest, *, run_id: str | None = None) -> str:
        """Queue one run for any worker and return its run id (enqueueing an id twice is harmless)."""
        self._require_launched()
        with SetWorkflowID(run_id or uuid.uuid4().hex):
            handle = await DBOS.enqueue_workflow_async(self.queue.name, run_agent, request)
        return handle.get_workflow_id()

    async def result(self, run_id: str) -> RunRecord:
        """Wait for run ``run_id`` and return its record; a workflow that raised is reported, not raised."""
        self._require_launched()
        handle: WorkflowHandleAsync[RunRecord] = await DBOS.retrieve_workflow_async(run_id)
        try:
            record: RunRecord = await handle.get_result(polling_interval_sec=_POLL_S)
        except Exception as err:  # the workflow itself failed (e.g. an unknown agent): report it
            return RunRecord(run_id=run_id, error=f"{type(err).__name__}: {err}")
        return record

    async def map(
        self, requests: Iterable[DurableRequest], *, run_ids: Sequence[str] | None = None
    ) -> list[RunRecord]:
        """Fan out: queue every request, then wait for all records (in the requests' order)."""
        items = list(requests)
        ids = list(run_ids) if run_ids is not None else [uuid.uuid4().hex for _ in items]
        if len(ids) != len(items):
            raise UserError(f"{len(items)} requests but {len(ids)} run ids")
        for request, run_id in zip(items, ids, strict=True):
            await self.enqueue(request, run_id=run_id)
        records: list[RunRecord | None] = [None] * len(ids)

        async def collect(index: int) -> None:
            records[index] = await self.result(ids[index])

        async with anyio.create_task_group() as tg:
            for index in range(len(ids)):
                tg.start_soon(collect, index)
        return [r for r in records if r is not None]

    async def progress(self, run_ids: Sequence[str]) -> Progress:
        """Count the runs' statuses (``ENQUEUED``, ``PENDING``, ``SUCCESS``...)."""
        self._require_launched()
        statuses = await DBOS.list_workflows_async(
            workflow_ids=list(run_ids), load_input=False, load_output=False
        )
        return Progress(total=len(run_ids), counts=dict(Counter(s.status for s in statuses)))

    def _require_launched(self) -> None:
        if not self._launched:
            raise UserError(
                "the DurableRunner is not launched: use `async with runner:` or `await runner.launch()`"
            )
