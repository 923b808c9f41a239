"""A batch's bookkeeping: each task's current run, what to enqueue next, what to report.

A task's run id is ``{batch id}-{task id}``; ``--retry-failed`` gives a failed
task a new attempt, ``{batch id}-{task id}.retry{n}`` (a run id is never reused).
The tasks of one session run one after another, in file order: a session's
next task is enqueued once the one before it has finished (answered or failed).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dbos import WorkflowStatus

from agentkit.durable._workflow import RunRecord

__all__ = ["TERMINAL", "BatchState", "Slot", "record_of"]

#: DBOS statuses of a run that has ended.
TERMINAL = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})

_ATTEMPT = re.compile(r"^(?P<base>.*)\.retry(?P<n>[0-9]+)$")


def record_of(status: WorkflowStatus) -> RunRecord:
    """The `RunRecord` of a finished run (a run whose workflow raised becomes a failed record)."""
    if status.status == "SUCCESS" and isinstance(status.output, RunRecord):
        return status.output
    error = status.error
    text = f"{type(error).__name__}: {error}" if error is not None else f"run ended as {status.status}"
    return RunRecord(run_id=status.workflow_id, error=text)


@dataclass(kw_only=True, slots=True)
class Slot:
    """One task of the batch and its current run."""

    index: int
    task_id: str
    session: str | None
    base_id: str
    attempt: int = 0
    status: str | None = None  # None: not in the system database (yet)
    executor: str = ""
    record: RunRecord | None = None

    @property
    def run_id(self) -> str:
        """The current attempt's run id."""
        return self.base_id if self.attempt == 0 else f"{self.base_id}.retry{self.attempt}"

    @property
    def done(self) -> bool:
        """Whether the current run has ended."""
        return self.status in TERMINAL

    def update(self, status: WorkflowStatus) -> None:
        """Take in the run's status row (and its record, once it ended)."""
        self.status = status.status
        self.executor = status.executor_id or ""
        if self.done:
            self.record = record_of(status)


@dataclass(kw_only=True, slots=True)
class BatchState:
    """Every task's slot, the sessions' order, and the counts the reports need."""

    slots: list[Slot]
    already_done: int = 0
    resumed: int = 0
    retried: list[str] = field(default_factory=list)
    finished_now: int = 0
    first_enqueue: float | None = None
    enqueue_s: float = 0.0
    last_finish: float | None = None
    _by_run: dict[str, Slot] = field(default_factory=dict)
    _sessions: dict[str, list[Slot]] = field(default_factory=dict)

    @classmethod
    def plan(cls, batch_id: str, tasks: Sequence[tuple[str, str | None]]) -> BatchState:
        """Slots for ``(task id, session)`` pairs, in file order."""
        slots = [
            Slot(index=i, task_id=task_id, session=session, base_id=f"{batch_id}-{task_id}")
            for i, (task_id, session) in enumerate(tasks)
        ]
        state = cls(slots=slots)
        for slot in slots:
            if slot.session is not None:
                state._sessions.setdefault(slot.session, []).append(slot)
        state._index()
        return state

    def _index(self) -> None:
        self._by_run = {slot.run_id: slot for slot in self.slots}

    def attach(self, existing: Iterable[WorkflowStatus], *, retry_failed: bool) -> None:
        """Take in the batch's runs already in the database; ``retry_failed``: new attempts for failures."""
        by_base = {slot.base_id: slot for slot in self.slots}
        latest: dict[str, tuple[int, WorkflowStatus]] = {}
        for status in existing:
            match = _ATTEMPT.match(status.workflow_id)
            base, attempt = (match["base"], int(match["n"])) if match else (status.workflow_id, 0)
            if base in by_base and attempt >= latest.get(base, (-1, status))[0]:
                latest[base] = (attempt, status)
        for base, (attempt, status) in latest.items():
            slot = by_base[base]
            slot.attempt = attempt
            slot.update(status)
        self.already_done = sum(s.done for s in self.slots)
        self.resumed = sum(s.status is not None and not s.done for s in self.slots)
        if retry_failed:
            for slot in self.slots:
                if slot.record is not None and not slot.record.ok:
                    self.retried.append(slot.task_id)
                    self.already_done -= 1
                    slot.attempt, slot.status, slot.record, slot.executor = slot.attempt + 1, None, None, ""
        self._index()

    def ready(self) -> list[Slot]:
        """Slots to enqueue now: not in the database yet, and first unfinished of their session."""
        ready = [s for s in self.slots if s.status is None and s.session is None]
        for session in self._sessions.values():
            head = next((s for s in session if not s.done), None)
            if head is not None and head.status is None:
                ready.append(head)
        return sorted(ready, key=lambda s: s.index)

    def enqueued(self, slots: Iterable[Slot]) -> None:
        """Mark ``slots`` as queued."""
        for slot in slots:
            slot.status = "ENQUEUED"
        if self.first_enqueue is None:
            self.first_enqueue = time.perf_counter()

    def unfinished_ids(self) -> list[str]:
        """Run ids in the database that have not ended."""
        return [s.run_id for s in self.slots if s.status is not None and not s.done]

    def waits_for(self, run_id: str) -> bool:
        """Whether ``run_id`` is a task's current run and has not been seen to end."""
        slot = self._by_run.get(run_id)
        return slot is not None and not slot.done

    def running(self, statuses: Iterable[WorkflowStatus]) -> None:
        """Take in the runs executing now; a run seen running before and not now is queued again."""
        rows = list(statuses)
        now = {status.workflow_id for status in rows}
        for slot in self.slots:
            if slot.status == "PENDING" and slot.run_id not in now:
                slot.status = "ENQUEUED"  # handed back to the queue (or ended: the next look says)
        self.update(rows)

    def count(self, status: str) -> int:
        """Tasks whose current run has this status."""
        return sum(1 for slot in self.slots if slot.status == status)

    def update(self, statuses: Iterable[WorkflowStatus]) -> None:
        """Take in fresh status rows; count the runs that ended since."""
        for status in statuses:
            slot = self._by_run.get(status.workflow_id)
            if slot is None:
                continue
            was_done = slot.done
            slot.update(status)
            if slot.done and not was_done:
                self.finished_now += 1
                self.last_finish = time.perf_counter()

    @property
    def complete(self) -> bool:
        """Whether every task's run has ended."""
        return all(s.done for s in self.slots)

    def failed_ids(self) -> list[str]:
        """Task ids whose run ended without an answer, in file order."""
        return [s.task_id for s in self.slots if s.record is not None and not s.record.ok]

    def progress(self) -> str:
        """One line: how many ended (ok / failed), run, wait in the queue, wait for their session."""
        ended = [s for s in self.slots if s.done]
        failed = sum(1 for s in ended if s.record is not None and not s.record.ok)
        counts = Counter(s.status for s in self.slots if not s.done)
        parts = [f"{len(ended) - failed} ok", f"{failed} failed"]
        parts += [f"{counts['PENDING']} running", f"{counts['ENQUEUED']} queued"]
        if counts[None]:
            parts.append(f"{counts[None]} waiting for their session's earlier tasks")
        return f"{len(ended)}/{len(self.slots)} done ({', '.join(parts)})"

    def run_rate(self) -> float:
        """Runs that ended during this command per second, from the first enqueue to the last end."""
        if self.first_enqueue is None or self.last_finish is None or self.last_finish <= self.first_enqueue:
            return 0.0
        return self.finished_now / (self.last_finish - self.first_enqueue)
