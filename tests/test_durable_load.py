"""The per-worker connection budget: six workers at concurrency 16 fit in PostgreSQL's default 100."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from agentkit.durable.runner import DEFAULT_WORKER_CONNECTIONS
from agentkit.testing import FakeKimiServer
from tests._cli import run_cli
from tests._durable_agents import LOG_ENV, URL_ENV
from tests._memory_backends import postgres_dsn
from tests.test_durable_batch import one_step_then_answer, write_tasks

#: PostgreSQL's default ``max_connections``, less its 3 connections reserved for superusers.
DEFAULT_MAX_CONNECTIONS = 100 - 3
#: What the coordinator opens at most (its client's pool of 4, a listener, a brief liveness probe).
COORDINATOR_CONNECTIONS = 6


class Peak:
    """Samples how many connections a database has, from a thread, and keeps the largest count."""

    def __init__(self, dsn: str, database: str) -> None:
        self.most = 0
        self._stop = threading.Event()
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._database = database
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            row = self._conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self._database,)
            ).fetchone()
            self.most = max(self.most, row[0] if row else 0)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL system database: (its URL, its name); dropped afterwards."""
    dsn = postgres_dsn()
    name = f"agentkit_load_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{dsn.rsplit('/', 1)[0]}/{name}", name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # name is ours: hex only


@pytest.mark.timeout(1500)
def test_six_workers_at_concurrency_16_stay_within_the_connection_budget(
    tmp_path: Path, database: tuple[str, str]
) -> None:
    """Six workers x 16 runs at once open at most their budget each, well under 100 connections in all."""
    url, name = database
    budget = 6 * DEFAULT_WORKER_CONNECTIONS + COORDINATOR_CONNECTIONS
    assert budget <= DEFAULT_MAX_CONNECTIONS
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out"
    write_tasks(tasks, 192)
    with FakeKimiServer(one_step_then_answer) as server, Peak(postgres_dsn(), name) as peak:
        env = {URL_ENV: server.base_url, LOG_ENV: str(tmp_path / "tools.log")}
        done = run_cli(
            "batch", str(tasks), "--agent", "tests._durable_agents:stepper", "--workers", "6",
            "--concurrency", "16", "--out", str(out), "--database", url, env=env, cwd=Path.cwd(),
            timeout=1400,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "192 runs: 192 ok" in done.stdout
    assert 0 < peak.most <= budget, f"{peak.most} connections at once, budget {budget}"
    assert "too many clients" not in done.stderr
