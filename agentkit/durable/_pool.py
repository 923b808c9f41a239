"""The worker processes ``agentkit batch`` starts on this machine, each under a fixed executor id.

Each worker watches a pipe from this process on its standard input and stops
when it closes (this process died, however), so no worker outlives its
coordinator. A worker that dies is restarted under its executor id, so the
runs it had started resume.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import IO

import anyio
import anyio.to_thread

from agentkit.durable.runner import RateLimit
from agentkit.exceptions import UserError

__all__ = ["WorkerPool", "worker_command"]

#: Seconds a worker the pool starts waits for an earlier process under its executor id to exit.
_EXECUTOR_WAIT_S = 300.0
#: Seconds the pool gives its workers to stop cleanly before killing them.
_STOP_WAIT_S = 75.0


def worker_command(
    *,
    database_url: str,
    executor_id: str,
    queue: str,
    agent: str,
    concurrency: int,
    poll_s: float,
    rate_limit: RateLimit | None,
    connections: int,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of one worker the pool starts."""
    command = [sys.executable, "-m", "agentkit.durable.worker", "--database", database_url]
    command += ["--executor-id", executor_id, "--queue", queue, "--agent", agent]
    command += ["--concurrency", str(concurrency), "--poll", str(poll_s), "--connections", str(connections)]
    # Exit with this process (its pipe closes when it dies); wait for an earlier worker under
    # the same id (a killed coordinator's, finishing its steps) instead of refusing to start.
    command += ["--watch-stdin", "--wait-executor", str(_EXECUTOR_WAIT_S)]
    if rate_limit is not None:
        for flag, value in (("--rpm", rate_limit.rpm), ("--tpm", rate_limit.tpm)):
            if value is not None:
                command += [flag, str(value)]
        command += ["--requests-per-run", str(rate_limit.requests_per_run)]
        command += ["--tokens-per-run", str(rate_limit.tokens_per_run)]
    return [*command, *extra]


class WorkerPool:
    """Worker processes, each under a fixed executor id; dead ones are restarted.

    Args:
        commands: executor id -> the worker's command line (see `worker_command`).
        report: where to say that a worker died and was restarted.
    """

    def __init__(self, commands: dict[str, list[str]], report: Callable[[str], None]) -> None:
        self._commands = commands
        self._report = report
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts = 0

    @property
    def executor_ids(self) -> list[str]:
        """The executor ids of this pool's workers."""
        return list(self._commands)

    @property
    def started(self) -> bool:
        """Whether `start` has started the workers."""
        return bool(self._procs)

    async def start(self) -> None:
        """Start every worker at once, then wait until each listens."""
        for executor_id in self._commands:
            self._spawn(executor_id)
        for executor_id in self._commands:
            await self._wait_ready(executor_id)

    def _spawn(self, executor_id: str) -> None:
        # A long-lived child, never waited on here: Popen returns at once (S603: our own module).
        command = self._commands[executor_id]
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
                self._report(f"worker {executor_id} exited (status {code}); restarting it, its runs resume")
                self._spawn(executor_id)
                await self._wait_ready(executor_id)

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
