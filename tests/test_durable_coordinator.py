"""The batch coordinator and its workers under crashes: no orphan, no shared executor id, no lost run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkit.testing import FakeKimiServer
from tests._cli import run_cli, start_cli
from tests._durable_agents import GATE_ENV, LOG_ENV, SYSTEM_DATABASES, URL_ENV, system_database
from tests.test_durable_batch import one_step_then_answer, write_tasks
from tests.test_durable_crash import start_worker

AGENT = "tests._durable_agents:stepper"


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database URL: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by the test, killed at the end whatever happens."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 300.0) -> None:
    """Poll ``predicate`` until it is true (the timeout only stops a hung test)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def lines_with(path: Path, word: str) -> list[str]:
    """The lines of ``path`` that start with ``word`` (none while it does not exist)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.startswith(word)]


@pytest.mark.timeout(300)
def test_a_live_executor_id_is_refused(
    tmp_path: Path, database: str, procs: list[subprocess.Popen[str]]
) -> None:
    """A second worker under a live executor id exits with a clear error; once the first died, it starts."""
    env = {URL_ENV: "http://127.0.0.1:9/v1", LOG_ENV: str(tmp_path / "tools.log")}
    procs.append(start_worker(database, "w0", env))
    second = subprocess.run(  # noqa: S603 - our own interpreter and module
        [os.sys.executable, "-m", "agentkit.durable.worker", "--database", database,  # type: ignore[attr-defined]
         "--executor-id", "w0", "--wait-executor", "0"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert second.returncode == 3
    assert "ready" not in second.stdout
    assert "executor id 'w0' is live" in second.stderr
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    procs.append(start_worker(database, "w0", env))  # the id is free again once its process died


@pytest.mark.timeout(900)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_killed_coordinator_rerun_runs_each_task_once(
    tmp_path: Path, database: str, sig: signal.Signals
) -> None:
    """Coordinator killed (SIGKILL or plain SIGTERM) mid-batch: workers stop, a rerun does each call once."""
    tasks, out, log = tmp_path / "tasks.jsonl", tmp_path / "out", tmp_path / "tools.log"
    runs = 120  # enough that a fast machine is still mid-batch when the kill lands
    write_tasks(tasks, runs)
    args = ["batch", str(tasks), "--agent", AGENT, "--workers", "2", "--concurrency", "3",
            "--out", str(out), "--batch-id", "k1", "--database", database]  # fmt: skip
    with FakeKimiServer(one_step_then_answer) as server:
        env = {URL_ENV: server.base_url, LOG_ENV: str(log)}
        with (tmp_path / "first.log").open("w") as output:
            first = start_cli(*args, env=env, cwd=Path.cwd(), output=output)
            try:
                wait_for(lambda: len(lines_with(log, "done")) >= 6, "some runs to finish")
                workers = children(first.pid)
            finally:
                first.send_signal(sig)
                first.wait()
        assert len(workers) == 2
        assert first.returncode == -sig
        assert len(lines_with(log, "done")) < runs  # killed mid-batch
        again = run_cli(*args, env=env, cwd=Path.cwd(), timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        wait_for(lambda: not any(running(pid) for pid in workers), "the first coordinator's workers to exit")
        assert len(server.requests) == 2 * runs  # two model calls per run, none made twice
    assert len(lines_with(log, "start")) == runs  # one tool call per run, none executed twice
    assert len(lines_with(log, "done")) == runs
    assert f"{runs} runs: {runs} ok, 0 failed" in again.stdout + again.stderr


@pytest.mark.timeout(900)
def test_runs_of_a_dead_hand_started_worker_are_reported_and_adopted(
    tmp_path: Path, database: str, procs: list[subprocess.Popen[str]]
) -> None:
    """Runs pending under a killed worker's id are named in the progress; --adopt gives them to a live one."""
    tasks, out, log, gate = (
        tmp_path / "tasks.jsonl",
        tmp_path / "out",
        tmp_path / "tools.log",
        tmp_path / "gate",
    )
    tasks.write_text("".join(f'{{"id": "s{i}", "prompt": "slow"}}\n' for i in range(3)))
    with FakeKimiServer(one_step_then_answer) as server:
        env = {URL_ENV: server.base_url, LOG_ENV: str(log), GATE_ENV: str(gate)}
        machine_b = start_worker(database, "machine-b", env)
        procs.append(machine_b)
        coordinator = start_cli(
            "batch", str(tasks), "--agent", AGENT, "--workers", "0", "--out", str(out),
            "--batch-id", "d1", "--database", database, env=env, cwd=Path.cwd(),
        )  # fmt: skip
        procs.append(coordinator)
        wait_for(lambda: len(lines_with(log, "start slow")) == 3, "machine-b to start the three runs")
        machine_b.send_signal(signal.SIGKILL)
        machine_b.wait()
        assert coordinator.stderr is not None
        seen: list[str] = []
        while "pending under executor 'machine-b'" not in (seen[-1] if seen else ""):
            line = coordinator.stderr.readline()
            assert line, "".join(seen)
            seen.append(line)
        assert "3 runs are pending under executor 'machine-b', which no live process runs" in seen[-1]
        assert "--adopt machine-b" in seen[-1]
        gate.touch()
        procs.append(start_worker(database, "machine-a", env, "--adopt", "machine-b"))
        stdout, stderr = coordinator.communicate(timeout=600)
    assert coordinator.returncode == 0, stdout + stderr
    assert "3 runs: 3 ok, 0 failed" in stdout + stderr
    assert len(lines_with(log, "done slow")) == 3
