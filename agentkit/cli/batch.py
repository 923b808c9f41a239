"""``agentkit batch``: run every task of a JSONL file durably, fanned out over worker processes.

Progress goes to stderr and the summary to stdout; ``OUT/results.jsonl`` gets one
line per task (output or error, usage, cost, the worker that ran it) and
``OUT/traces/`` one JSONL trace per run. Exit status 1 when any run failed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import anyio
import typer

from agentkit.cli._echo import echo
from agentkit.cli._errors import EXIT_RUN_FAILED, CliError, reported
from agentkit.cli._load import AGENT_HELP

__all__ = ["batch"]

_DBOS_HINT = 'pip install "agentkit[dbos]" (from a checkout: pip install -e ".[dbos]")'


def batch(
    tasks: Annotated[Path, typer.Argument(help='JSONL file, one {"prompt": ..., "id": ...} per line.')],
    *,
    agent: Annotated[str, typer.Option(help=AGENT_HELP)],
    workers: Annotated[
        int, typer.Option(help="Worker processes to start here (0: workers run elsewhere).")
    ] = 2,
    concurrency: Annotated[int, typer.Option(help="Runs each worker executes at once.")] = 16,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: TASKS without .jsonl).")
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="DBOS system database URL (default: sqlite in OUT; PostgreSQL for many machines)."),
    ] = None,
    rpm: Annotated[
        int | None, typer.Option(help="The provider's requests per minute, shared by all workers.")
    ] = None,
    tpm: Annotated[
        int | None, typer.Option(help="The provider's tokens per minute, shared by all workers.")
    ] = None,
    requests_per_run: Annotated[float, typer.Option(help="Model requests per run, on average.")] = 1.0,
    tokens_per_run: Annotated[
        float, typer.Option(help="Tokens per run counted against TPM, on average.")
    ] = 1.0,
    batch_id: Annotated[
        str | None, typer.Option(help="Run-id prefix (default: from the file's content).")
    ] = None,
    traces: Annotated[bool, typer.Option(help="Write one JSONL trace per run.")] = True,
    connections: Annotated[
        int, typer.Option(help="The most database connections each worker opens (PostgreSQL budget).")
    ] = 10,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed", help="Run the tasks whose last run failed again (results merged into OUT)."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Run every task of TASKS durably on a DBOS queue over worker processes."""
    with reported(debug=debug):
        try:
            from agentkit.durable.batch import BatchConfig, read_tasks, run_batch  # noqa: PLC0415 - DBOS loads only here
            from agentkit.durable.runner import MIN_CONNECTIONS, RateLimit  # noqa: PLC0415 - likewise
        except ModuleNotFoundError as err:
            if (err.name or "").partition(".")[0] != "dbos":
                raise
            raise CliError("agentkit batch runs on DBOS, which is not installed", hint=_DBOS_HINT) from None

        if not tasks.is_file():
            raise CliError(f"no such file: {tasks}")
        if workers < 0 or concurrency < 1:
            raise CliError("--workers must be >= 0 and --concurrency >= 1")
        if connections < MIN_CONNECTIONS:
            raise CliError(f"--connections must be >= {MIN_CONNECTIONS}")
        out_dir = (out or tasks.with_suffix("")).resolve()  # workers write traces from their own cwd
        rate = None
        if rpm is not None or tpm is not None:
            rate = RateLimit(
                rpm=rpm, tpm=tpm, requests_per_run=requests_per_run, tokens_per_run=tokens_per_run
            )
        config = BatchConfig(
            agent=_absolute_agent(agent),
            database_url=database or f"sqlite:///{(out_dir / 'runs.sqlite').resolve()}",
            out_dir=out_dir,
            batch_id=batch_id or hashlib.sha256(tasks.read_bytes()).hexdigest()[:12],
            workers=workers,
            worker_concurrency=concurrency,
            rate_limit=rate,
            traces=traces,
            retry_failed=retry_failed,
            worker_connections=connections,
        )
        task_list = read_tasks(tasks)
        summary = anyio.run(lambda: run_batch(config, task_list, report=lambda line: echo(line, err=True)))
        echo(str(summary))
        if summary.failed:
            raise typer.Exit(EXIT_RUN_FAILED)


def _absolute_agent(spec: str) -> str:
    """``path/file.py:attr`` made absolute (workers import it from their own working directory)."""
    location, _, attr = spec.rpartition(":") if ":" in spec else (spec, ":", "agent")
    if location.endswith(".py") or "/" in location:
        return f"{Path(location).resolve()}:{attr or 'agent'}"
    return spec
