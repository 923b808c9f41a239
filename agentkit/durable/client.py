"""DurableClient: queue runs and read their records without executing any.

The process that submits a batch is usually not a worker: it talks to the
system database only, and the worker processes (on this machine or others
sharing a PostgreSQL system database) execute the runs.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import anyio.to_thread
from dbos import DBOSClient, EnqueueOptions, WorkflowStatus

from agentkit.durable._liveness import is_postgres, libpq_url, sqlite_path
from agentkit.durable._workflow import RUN_WORKFLOW_NAME, DurableRequest, RunRecord
from agentkit.durable.runner import DEFAULT_QUEUE, Progress
from agentkit.exceptions import UserError

__all__ = ["DurableClient"]

_POLL_S = 0.1
#: Database connections a client opens at most (it enqueues and reads, a few statements at a time).
_POOL = 4
#: Runs whose outputs one query loads at most.
PAGE = 500
#: DBOS's statuses of a run that has ended.
ENDED = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
#: The columns of DBOS's ``workflow_status`` row an enqueue fills from the built status, as named there.
_STATUS_COLUMNS = (
    "status", "name", "class_name", "config_name", "executor_id", "authenticated_user",
    "authenticated_roles", "assumed_role", "queue_name", "workflow_timeout_ms",
    "workflow_deadline_epoch_ms", "deduplication_id", "priority", "serialization",
    "queue_partition_key", "parent_workflow_id", "delay_until_epoch_ms", "attributes",
    "schedule_name", "application_name",
)  # fmt: skip


class DurableClient:
    """Submit runs to a queue and follow them, from outside the workers.

    Args:
        database_url: the workers' system database.
        app_name: the workers' DBOS application name.
        queue: the queue the workers listen on.
    """

    def __init__(self, database_url: str, *, app_name: str = "agentkit", queue: str = DEFAULT_QUEUE) -> None:
        self.queue = queue
        self.database_url = database_url
        self._client = DBOSClient(
            system_database_url=database_url, application_name=app_name, system_database_pool_size=_POOL
        )

    def close(self) -> None:
        """Release the database connections."""
        self._client.destroy()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def enqueue(self, request: DurableRequest, *, run_id: str) -> str:
        """Queue one run under ``run_id``; an id already queued is left as it is."""
        options: EnqueueOptions = {
            "queue_name": self.queue,
            "workflow_name": RUN_WORKFLOW_NAME,
            "workflow_id": run_id,
        }
        await self._client.enqueue_async(options, request)
        return run_id

    async def result(self, run_id: str) -> RunRecord:
        """Wait for run ``run_id``'s record; a workflow that raised is reported, not raised."""
        handle: Any = await self._client.retrieve_workflow_async(run_id)
        try:
            record: RunRecord = await handle.get_result(polling_interval_sec=_POLL_S)
        except Exception as err:  # the workflow itself failed: report it
            return RunRecord(run_id=run_id, error=f"{type(err).__name__}: {err}")
        return record

    async def enqueue_many(self, items: Sequence[tuple[DurableRequest, str]]) -> None:
        """Queue ``(request, run id)`` pairs in one transaction, two statements per thousand runs.

        An id already in the system database (queued, running or ended) is left as it
        is: a run is never queued twice, so a second coordinator of the same batch (or a
        rerun) attaches instead of running anything again.
        """
        if items:
            await anyio.to_thread.run_sync(self._insert_enqueued, items)

    def _insert_enqueued(self, items: Sequence[tuple[DurableRequest, str]]) -> None:
        # DBOS enqueues one run with two statements of its own (status row, input row); these
        # are the same rows, built by DBOS, written as two multi-row inserts (SQLAlchemy
        # sends a thousand rows a statement). DBOS reads them as it reads its own.
        sys_db = self._client._sys_db
        now_ms = int(time.time() * 1000)
        statuses: list[dict[str, Any]] = []
        inputs: list[dict[str, Any]] = []
        for request, run_id in items:
            options: EnqueueOptions = {
                "queue_name": self.queue,
                "workflow_name": RUN_WORKFLOW_NAME,
                "workflow_id": run_id,
            }
            _, status = self._client._build_enqueue_status(options, request)
            row: dict[str, Any] = {column: status[column] for column in _STATUS_COLUMNS}  # type: ignore[literal-required]
            row.update(
                workflow_uuid=run_id,
                application_version=status["app_version"],
                application_id=status["app_id"],
                recovery_attempts=0,
                created_at=now_ms,
                updated_at=now_ms,
            )
            statuses.append(row)
            inputs.append(
                {"workflow_uuid": run_id, "inputs": status["inputs"], "retention_timestamp": now_ms}
            )
        tables = sys_db.tables
        with sys_db.engine.begin() as conn:
            for table, rows in ((tables.workflow_status, statuses), (tables.workflow_input, inputs)):
                insert = sys_db.dialect.insert(table).on_conflict_do_nothing(index_elements=["workflow_uuid"])
                conn.execute(insert, rows)

    async def statuses(self, run_ids: Sequence[str], *, load_output: bool = False) -> list[WorkflowStatus]:
        """DBOS's status rows of the runs (status, executor id, timestamps; outputs with ``load_output``)."""
        if not run_ids:
            return []
        return await self._client.list_workflows_async(
            workflow_ids=list(run_ids), load_input=False, load_output=load_output
        )

    async def ended_since(self, prefix: str, since_ms: int | None = None) -> list[WorkflowStatus]:
        """The status rows, without outputs, of the runs under ``prefix`` that ended at or after ``since_ms``.

        ``since_ms`` is the system database's clock (a row's ``completed_at``); ``None``: every ended run.
        """
        after = None
        if since_ms is not None:
            after = datetime.datetime.fromtimestamp(since_ms / 1000, tz=datetime.UTC).isoformat()
        return await self._client.list_workflows_async(
            workflow_id_prefix=prefix,
            status=list(ENDED),
            completed_after=after,
            load_input=False,
            load_output=False,
        )

    async def running(self, prefix: str) -> list[WorkflowStatus]:
        """The status rows, without outputs, of the runs under ``prefix`` that a worker executes now."""
        return await self._client.list_workflows_async(
            workflow_id_prefix=prefix, status="PENDING", load_input=False, load_output=False
        )

    async def outputs(self, run_ids: Sequence[str]) -> list[WorkflowStatus]:
        """The status rows, outputs included, of ``run_ids``: one query per ``PAGE`` runs."""
        rows: list[WorkflowStatus] = []
        for start in range(0, len(run_ids), PAGE):
            rows += await self.statuses(run_ids[start : start + PAGE], load_output=True)
        return rows

    async def runs_with_prefix(self, prefix: str) -> list[WorkflowStatus]:
        """The status rows, outputs included, of every run whose id starts with ``prefix``."""
        return await self._client.list_workflows_async(
            workflow_id_prefix=prefix, load_input=False, load_output=True
        )

    @staticmethod
    def check_database(database_url: str) -> None:
        """Raise a clear error if the system database does not exist (workers create it; clients do not).

        Raises:
            UserError: no such PostgreSQL database, or no such SQLite file.
        """
        if is_postgres(database_url):
            import psycopg  # noqa: PLC0415 - a DBOS dependency, needed only for PostgreSQL

            try:
                psycopg.connect(libpq_url(database_url), connect_timeout=10).close()
            except psycopg.OperationalError as err:
                if "does not exist" in str(err):
                    raise UserError(
                        f"the system database in {_hide_password(database_url)} does not exist: a worker "
                        "creates it when it starts (start one first), or check --database"
                    ) from None
                raise UserError(f"cannot connect to the system database: {err}") from None
            return
        path = sqlite_path(database_url)
        if path is not None and not path.exists():
            raise UserError(
                f"no system database at {path}: a worker creates it when it starts, start one first"
            )

    async def progress(self, run_ids: Sequence[str]) -> Progress:
        """Count the runs' statuses (``ENQUEUED``, ``PENDING``, ``SUCCESS``...)."""
        statuses = await self.statuses(run_ids)
        return Progress(total=len(run_ids), counts=dict(Counter(s.status for s in statuses)))


def _hide_password(url: str) -> str:
    """``url`` with any password replaced by ``***`` (errors must not show secrets)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"
