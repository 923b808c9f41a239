"""A worker process: launches DBOS, recovers its unfinished runs, executes queued runs until killed.

``python -m agentkit.durable.worker --database URL --executor-id worker-0`` (the
``agentkit batch`` command starts these). A worker restarted with the same
executor id resumes the runs it had in progress. It prints ``ready`` on a
line of its own once it is listening.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from agentkit.durable.runner import DEFAULT_QUEUE, DurableRunner, QueueConfig, RateLimit

__all__ = ["main", "serve"]


async def serve(runner: DurableRunner) -> None:
    """Launch ``runner`` and execute queued runs until the process is stopped."""
    async with runner:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await anyio.sleep_forever()


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
    return parser


def runner_from_args(args: argparse.Namespace) -> DurableRunner:
    """The :class:`DurableRunner` the command-line options describe."""
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
    return DurableRunner(args.database, executor_id=args.executor_id, queue=queue)


def main(argv: Sequence[str] | None = None) -> None:
    """Run one worker with the command line's options."""
    args = _parser().parse_args(argv)
    anyio.run(serve, runner_from_args(args))


if __name__ == "__main__":
    main()
