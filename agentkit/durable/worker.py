"""A worker process: launches DBOS, recovers its unfinished runs, executes queued runs until stopped.

``python -m agentkit.durable.worker --database URL --executor-id worker-0`` (the
``agentkit batch`` command starts these). It prints ``ready`` on a line of its
own once it is listening.

- Its executor id is live while it runs: a second process asking for the same
  id is refused (see [`agentkit.durable._liveness`][]). A worker restarted with
  the id resumes the runs it had in progress.
- On SIGTERM or SIGINT (and, with ``--watch-stdin``, when its standard input
  closes: the coordinator that started it died) it stops cleanly: no new step
  starts, the steps running finish and are checkpointed (up to ``--grace``
  seconds), and its unfinished runs go back to the queue for any worker.
- ``--adopt ID`` hands the runs a dead executor left pending back to the queue.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

import anyio
import anyio.to_thread

from agentkit.durable._steps import STEPS
from agentkit.durable.runner import (
    DEFAULT_QUEUE,
    DEFAULT_WORKER_CONNECTIONS,
    DurableRunner,
    QueueConfig,
    RateLimit,
)
from agentkit.exceptions import AgentkitError, UserError

__all__ = ["main", "serve"]

#: Exit status of a worker that could not start (executor id live, agent not importable...).
EXIT_START_FAILED = 3
#: Seconds between checks that the executor lock is still held.
_LOCK_CHECK_S = 2.0


class _OneLine(logging.Formatter):
    """Log records as one line each: a tool's failure is reported by the run, not by a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)


def _log_one_line_per_event(executor_id: str) -> None:
    """Agentkit's warnings on stderr, one line each, prefixed with the executor id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(f"worker {executor_id}: %(levelname)s %(message)s"))
    logger = logging.getLogger("agentkit")
    logger.addHandler(handler)
    logger.propagate = False


def _say(executor_id: str, line: str) -> None:
    sys.stderr.write(f"worker {executor_id}: {line}\n")
    sys.stderr.flush()


async def serve(
    runner: DurableRunner,
    *,
    watch_stdin: bool = False,
    grace_s: float = 60.0,
    adopt: Sequence[str] = (),
) -> None:
    """Launch ``runner``, say ``ready``, execute queued runs until told to stop, then hand them back.

    Returns with DBOS still launched and its unfinished runs on the queue: the
    caller exits the process (runs parked at a step must not be woken).
    """
    executor_id = runner.executor_id
    await runner.launch()
    for dead in adopt:
        count = await runner.release_executor(dead)
        _say(executor_id, f"adopted {count} pending runs of executor {dead!r} (back on the queue)")
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if watch_stdin:  # once signals are caught: its SIGTERM must stop us cleanly
            threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
        async with anyio.create_task_group() as group:
            group.start_soon(_watch_lock, runner)
            async for _ in signals:
                break
            group.cancel_scope.cancel()
    await _drain(runner, grace_s)


def _exit_when_stdin_closes() -> None:
    """Read standard input to its end (the coordinator's pipe closes when it dies), then stop."""
    while os.read(0, 4096):  # unbuffered: a daemon thread must not hold the buffered reader's lock
        pass
    os.kill(os.getpid(), signal.SIGTERM)


async def _watch_lock(runner: DurableRunner) -> None:
    """Exit at once if the executor lock is lost (another process could then take the id)."""
    while True:
        await anyio.sleep(_LOCK_CHECK_S)
        if not await anyio.to_thread.run_sync(runner.lock_held):
            _say(runner.executor_id, "lost the connection that holds the executor lock; exiting now")
            os._exit(EXIT_START_FAILED)


async def _drain(runner: DurableRunner, grace_s: float) -> None:
    """Close the step gate, let running steps finish, hand the unfinished runs back to the queue."""
    STEPS.close()
    await runner.stop_taking_runs()
    with anyio.move_on_after(grace_s):
        while STEPS.in_flight:  # noqa: ASYNC110 - steps run on DBOS's own event loop thread
            await anyio.sleep(0.05)
    left = STEPS.in_flight
    if left:
        _say(runner.executor_id, f"{left} steps still running after {grace_s} s: they will run again")
    count = await runner.release_executor(runner.executor_id, own=True)
    if count:
        _say(runner.executor_id, f"stopping: {count} unfinished runs handed back to the queue")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agentkit.durable.worker", description=__doc__)
    parser.add_argument(
        "--database", required=True, help="system database URL (sqlite:///... or postgresql://...)"
    )
    parser.add_argument("--executor-id", required=True, help="this worker's identity (reuse it on restart)")
    parser.add_argument("--queue", default=DEFAULT_QUEUE)
    parser.add_argument("--concurrency", type=int, default=16, help="runs this worker executes at once")
    parser.add_argument("--rpm", type=int, default=None, help="provider requests per minute (global)")
    parser.add_argument("--tpm", type=int, default=None, help="provider tokens per minute (global)")
    parser.add_argument("--requests-per-run", type=float, default=1.0)
    parser.add_argument("--tokens-per-run", type=float, default=1.0)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the queue")
    parser.add_argument(
        "--wait-executor",
        type=float,
        default=30.0,
        help="seconds to wait for another process to release this executor id before refusing",
    )
    parser.add_argument(
        "--grace", type=float, default=60.0, help="seconds running steps get to finish when stopping"
    )
    parser.add_argument(
        "--watch-stdin", action="store_true", help="stop when standard input closes (the parent died)"
    )
    parser.add_argument(
        "--adopt",
        action="append",
        default=[],
        metavar="EXECUTOR_ID",
        help="hand the pending runs of this dead executor back to the queue (repeatable)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULT_WORKER_CONNECTIONS,
        help="the most database connections this worker opens",
    )
    parser.add_argument("--agent", default=None, help="import this agent (module:attr) before saying ready")
    return parser


def runner_from_args(args: argparse.Namespace) -> DurableRunner:
    """The `DurableRunner` the command-line options describe."""
    rate = None
    if args.rpm is not None or args.tpm is not None:
        rate = RateLimit(
            rpm=args.rpm,
            tpm=args.tpm,
            requests_per_run=args.requests_per_run,
            tokens_per_run=args.tokens_per_run,
        )
    queue = QueueConfig(
        name=args.queue, worker_concurrency=args.concurrency, rate_limit=rate, polling_interval_s=args.poll
    )
    return DurableRunner(
        args.database,
        executor_id=args.executor_id,
        queue=queue,
        executor_wait_s=args.wait_executor,
        connections=args.connections,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run one worker with the command line's options."""
    args = _parser().parse_args(argv)
    _log_one_line_per_event(args.executor_id)
    try:
        if args.agent is not None:
            check_agent(args.agent)
        runner = runner_from_args(args)
        runner.on_executor_wait = lambda: _say(
            args.executor_id, "waiting for the earlier process under this executor id to exit"
        )
        anyio.run(lambda: serve(runner, watch_stdin=args.watch_stdin, grace_s=args.grace, adopt=args.adopt))
    except AgentkitError as err:
        _say(args.executor_id, f"cannot start: {err}")
        sys.exit(EXIT_START_FAILED)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # not DBOS.destroy: it would wake the runs parked at a step, which are handed back


def check_agent(spec: str) -> None:
    """Import the agent ``spec`` names, as a run would.

    Raises:
        UserError: it cannot be imported, or is not an agent.
    """
    from agentkit.durable._workflow import durable_agent  # noqa: PLC0415 - only with --agent

    try:
        durable_agent(spec)
    except UserError:
        raise
    except Exception as err:  # the module's own import failed: say how, not where
        raise UserError(f"cannot import the agent {spec!r}: {type(err).__name__}: {err}") from None


if __name__ == "__main__":
    main()
