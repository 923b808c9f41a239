"""Crash and resume for real: a worker process is killed with SIGKILL mid-run and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.durable import DurableRequest
from agentkit.durable.client import DurableClient
from agentkit.testing import FakeKimiServer, Reply
from tests._durable_agents import GATE_ENV, LOG_ENV, SYSTEM_DATABASES, URL_ENV, system_database

pytestmark = pytest.mark.anyio

AGENT = "tests._durable_agents:stepper"


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database URL: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        yield url


def start_worker(database: str, executor_id: str, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    """Start a worker process (``extra``: more options) and wait until it is listening."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "agentkit.durable.worker",
            "--database",
            database,
            "--executor-id",
            executor_id,
            "--poll",
            "0.1",
            "--concurrency",
            "4",
            *extra,
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"worker did not start (exit {proc.poll()})"
    return proc


def wait_for(predicate: object, what: str, timeout_s: float = 300.0) -> None:
    """Poll ``predicate`` until it is true (the timeout only stops a hung test)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker processes started by the test, killed at the end whatever happens."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.timeout(900)  # worker processes start slowly on a loaded machine
async def test_killed_worker_resumes_without_repeating_completed_steps(
    tmp_path: Path, database: str, workers: list[subprocess.Popen[str]]
) -> None:
    """After kill -9 mid-tool-call and a restart, completed model and tool calls are not repeated."""
    log, gate = tmp_path / "tools.log", tmp_path / "gate"
    script = [
        Reply.tool_calls(("step", {"name": "fast"})),
        Reply.tool_calls(("step", {"name": "slow"})),
        Reply.text("all steps done"),
    ]
    with FakeKimiServer(script) as server:
        env = {URL_ENV: server.base_url, LOG_ENV: str(log), GATE_ENV: str(gate)}
        workers.append(start_worker(database, "w0", env))
        async with DurableClient(database) as client:
            await client.enqueue(DurableRequest(agent=AGENT, prompt="go"), run_id="crash-1")
            wait_for(lambda: log.exists() and "start slow" in log.read_text(), "the slow step to start")
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            assert len(server.requests) == 2
            gate.touch()
            workers.append(start_worker(database, "w0", env))
            record = await client.result("crash-1")
    assert record.ok, record.error
    assert record.output == "all steps done"
    assert len(server.requests) == 3  # two before the crash, one after: none repeated
    lines = log.read_text().splitlines()
    key = "crash-1:2.0"
    assert lines == [
        "start fast crash-1:1.0",
        "done fast crash-1:1.0",
        f"start slow {key}",  # in flight when killed: runs again, with the same key
        f"start slow {key}",
        f"done slow {key}",
    ]
