"""Scale-out of ``agentkit batch`` on PostgreSQL: 1, 3 and 6 workers, beside the same runs without DBOS.

``python -m benchmarks.bench_scale --database postgresql://postgres@127.0.0.1:5432/postgres``
runs the benchmark workload (``workload.py``: 4 model calls and 12 tool calls per run,
against the fake Kimi server in its own process) as a batch of ``--tasks`` runs over
``--workers`` worker processes (16 runs each at once), each case on a fresh system
database created on that server and dropped afterwards. The coordinator runs in this
process, so its CPU is this process's and the workers' CPU is its reaped children's.
Per case, one JSON line:

- ``runs_per_s``: runs ended per second, from the first enqueue to the last result (as
  the command prints it), and ``wall_s`` the whole command, worker start-up included;
- ``enqueue_s``: enqueueing every task (one transaction); ``collect_s``: from the last
  run's end to ``results.jsonl`` written;
- ``worker_cpu_ms_per_run`` (all workers' CPU / runs) and ``coordinator_cpu_ms_per_run``;
  ``worker_startup_cpu_s``, one worker's CPU from its start to ``ready`` (a probe worker
  started on the case's database before the batch, on a queue of its own), and
  ``worker_cpu_ms_per_run_after_startup``, the workers' CPU less that much per worker, per run;
- ``peak_connections``: the most connections the system database had at once (sampled
  every 50 ms); ``load_1m``: the machine's load average when the case started and ended;
- ``plain_cpu_ms_per_run`` / ``plain_runs_per_s``: the same runs in one process with
  ``Agent.run``, no durability (as many at once as the workers run together), and
  ``durable_vs_plain_cpu``, the ratio of CPU per run (``after_startup_vs_plain_cpu`` without
  the workers' start-up).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import anyio
import orjson
import psycopg

from agentkit.durable._pool import worker_command
from agentkit.durable.batch import BatchConfig, Task, run_batch
from benchmarks.bench_durable import URL_ENV, fake_server


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class _Peak:
    """The most connections database ``name`` had at once, sampled from a thread."""

    def __init__(self, dsn: str, name: str) -> None:
        self.most = 0
        self._dsn, self._name = dsn, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self._name,)
                ).fetchone()
                self.most = max(self.most, row[0] if row else 0)

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _plain(base_url: str, runs: int, concurrency: int) -> dict[str, Any]:
    """The same runs with plain ``Agent.run`` in one process (the harness's agentkit client)."""
    command = [sys.executable, "-m", "benchmarks.bench_durable", "client", "agentkit", "--base-url", base_url]
    command += ["--runs", str(runs), "--concurrency", str(concurrency), "--warmup", "10"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return result


def _startup_cpu_s(url: str, concurrency: int) -> float:
    """CPU seconds one worker spends from its start to ``ready`` (imports, DBOS launch, agent check)."""
    command = worker_command(
        database_url=url,
        executor_id="bench-startup",
        queue="agentkit-bench-startup",  # a queue of its own: it takes none of the batch's runs
        agent="benchmarks.bench_durable:workload_agent",
        concurrency=concurrency,
        poll_s=1.0,
        rate_limit=None,
        connections=10,
    )
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    proc.terminate()
    proc.wait()
    if ready.strip() != b"ready":
        raise RuntimeError("the start-up probe worker did not start")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def case(dsn: str, base_url: str, workers: int, tasks: int, concurrency: int) -> dict[str, Any]:
    """One batch of ``tasks`` runs over ``workers`` workers, on a fresh database of the server ``dsn``."""
    load_before = os.getloadavg()[0]
    name = f"agentkit_bench_{uuid.uuid4().hex[:10]}"
    url = f"{dsn.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp, _Peak(dsn, name) as peak:
            config = BatchConfig(
                agent="benchmarks.bench_durable:workload_agent",
                database_url=url,
                out_dir=Path(tmp) / "out",
                batch_id="bench",
                workers=workers,
                worker_concurrency=concurrency,
                traces=False,
            )
            batch = [Task(id=str(i), prompt="Paris?") for i in range(tasks)]
            startup_s = _startup_cpu_s(url, concurrency)
            self_before, children_before = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
            summary = anyio.run(lambda: run_batch(config, batch))
            coordinator_cpu = _cpu(resource.RUSAGE_SELF) - self_before
            worker_cpu = _cpu(resource.RUSAGE_CHILDREN) - children_before
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # name is ours: hex only
    return {
        "workers": workers,
        "tasks": tasks,
        "ok": summary.ok,
        "failed": summary.failed,
        "wall_s": round(summary.seconds, 2),
        "runs_per_s": round(summary.run_rate, 2),
        "enqueue_s": round(summary.enqueue_s, 3),
        "collect_s": round(summary.collect_s, 3),
        "worker_cpu_ms_per_run": round(worker_cpu * 1000 / tasks, 2),
        "worker_startup_cpu_s": round(startup_s, 2),
        "worker_cpu_ms_per_run_after_startup": round((worker_cpu - workers * startup_s) * 1000 / tasks, 2),
        "coordinator_cpu_ms_per_run": round(coordinator_cpu * 1000 / tasks, 2),
        "peak_connections": peak.most,
        "load_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def main() -> None:
    """Run every case and print one JSON line each."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a PostgreSQL server's DSN (any database on it)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3, 6])
    parser.add_argument("--tasks", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with fake_server() as base_url:
        os.environ[URL_ENV] = base_url
        for tasks in args.tasks:
            for workers in args.workers:
                report = case(args.database, base_url, workers, tasks, args.concurrency)
                plain = _plain(base_url, tasks, workers * args.concurrency)
                report["plain_cpu_ms_per_run"] = round(plain["cpu_s"] * 1000 / plain["runs"], 2)
                report["plain_runs_per_s"] = round(plain["runs"] / plain["wall_s"], 2)
                report["durable_vs_plain_cpu"] = round(
                    report["worker_cpu_ms_per_run"] / report["plain_cpu_ms_per_run"], 2
                )
                report["after_startup_vs_plain_cpu"] = round(
                    report["worker_cpu_ms_per_run_after_startup"] / report["plain_cpu_ms_per_run"], 2
                )
                sys.stdout.write(orjson.dumps(report).decode() + "\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
