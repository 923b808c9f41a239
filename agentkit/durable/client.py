"""DurableClient: queue runs and read their records without executing any.

The process that submits a batch is usually not a worker: it talks to the
system database only, and the worker processes (on this machine or others
sharing a PostgreSQL system database) execute the runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from dbos import DBOSClient, EnqueueOptions, WorkflowStatus

from agentkit.durable._workflow import RUN_WORKFLOW_NAME, DurableRequest, RunRecord
from agentkit.durable.runner import DEFAULT_QUEUE, Progress

__all__ = ["DurableClient"]

_POLL_S = 0.1


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
        self._client = DBOSClient(system_database_url=database_url, application_name=app_name)

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

    async def statuses(self, run_ids: Sequence[str]) -> list[WorkflowStatus]:
        """DBOS's status rows of the runs (status, executor id, timestamps), without inputs or outputs."""
        return await self._client.list_workflows_async(
            workflow_ids=list(run_ids), load_input=False, load_output=False
        )

    async def progress(self, run_ids: Sequence[str]) -> Progress:
        """Count the runs' statuses (``ENQUEUED``, ``PENDING``, ``SUCCESS``...)."""
        statuses = await self.statuses(run_ids)
        return Progress(total=len(run_ids), counts=dict(Counter(s.status for s in statuses)))
