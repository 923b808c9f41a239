"""What ``agentkit batch`` tells its user: failures, retries, reattaching, missing workers and databases."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from agentkit.testing import FakeKimiServer, Reply
from tests._cli import run_cli, start_cli
from tests._durable_agents import LOG_ENV, SYSTEM_DATABASES, URL_ENV, system_database
from tests.test_durable_crash import start_worker

AGENT = "tests._durable_agents:looper"


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database URL: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        yield url


class Model:
    """A model that runs the prompt as a step, except ``loop`` prompts, which never stop calling it."""

    def __init__(self) -> None:
        self.looping = True

    def __call__(self, body: dict[str, Any]) -> Reply:
        first = next(m["content"] for m in body["messages"] if m["role"] == "user")
        last = body["messages"][-1]
        if last["role"] == "tool" and not (first == "loop" and self.looping):
            return Reply.text(f"done: {last['content']}")
        return Reply.tool_calls(("step", {"name": "boom" if first == "loop" else first}))


def results(out: Path) -> list[dict[str, Any]]:
    """The rows of ``out/results.jsonl``."""
    return [orjson.loads(line) for line in (out / "results.jsonl").read_bytes().splitlines()]


@pytest.mark.timeout(900)
def test_failures_are_reported_then_retried_alone_and_merged(tmp_path: Path, database: str) -> None:
    """Failed runs count as failed, are listed, carry their paid calls; --retry-failed reruns only them."""
    tasks, out, log = tmp_path / "tasks.jsonl", tmp_path / "out", tmp_path / "tools.log"
    prompts = ["a", "loop", "b", "c", "loop", "d"]
    tasks.write_text("".join(f'{{"id": "t{i}", "prompt": "{p}"}}\n' for i, p in enumerate(prompts)))
    args = ["batch", str(tasks), "--agent", AGENT, "--workers", "2", "--concurrency", "2",
            "--out", str(out), "--batch-id", "f1", "--database", database]  # fmt: skip
    model = Model()
    with FakeKimiServer(model) as server:
        env = {URL_ENV: server.base_url, LOG_ENV: str(log)}
        first = run_cli(*args, env=env, cwd=Path.cwd(), timeout=800)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "progress: 6/6 done (4 ok, 2 failed" in first.stderr
        assert "6 runs: 4 ok, 2 failed" in first.stdout  # the summary goes to stdout
        assert "failed: t1, t4" in first.stdout
        assert "Traceback" not in first.stderr  # the boom tool's failures are one line each
        rows = results(out)
        failed = rows[1]
        assert (failed["ok"], failed["turns"], failed["usage"]["requests"]) == (False, 3, 3)
        assert failed["usage"]["input_tokens"] > 0
        assert failed["error"].startswith("MaxTurnsExceeded")
        trace = orjson.loads((out / "traces" / "f1-t1.jsonl").read_bytes().splitlines()[0])
        assert trace["run_id"] == "f1-t1"  # trace run ids are the batch's run ids
        requests_before = len(server.requests)

        again = run_cli(*args, env=env, cwd=Path.cwd(), timeout=800)
        assert again.returncode == 1
        assert "attached to 6 runs of batch f1" in again.stderr
        assert "6 already done" in again.stderr
        assert len(server.requests) == requests_before  # nothing ran again

        model.looping = False
        retried = run_cli(*args, "--retry-failed", env=env, cwd=Path.cwd(), timeout=800)
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert "retrying 2 failed tasks: t1, t4" in retried.stderr
        assert "6 runs: 6 ok, 0 failed" in retried.stdout
        assert "already done 4, retried 2" in retried.stdout
        assert len(server.requests) == requests_before + 2 * 2  # only the two failed tasks ran
    rows = results(out)
    assert [r["id"] for r in rows] == [f"t{i}" for i in range(6)]
    assert all(r["ok"] for r in rows)
    assert rows[1]["run_id"] == "f1-t1.retry1"
    assert rows[0]["run_id"] == "f1-t0"  # rows of the first run kept, merged with the retried ones


@pytest.mark.timeout(600)
def test_a_rerun_of_a_finished_batch_starts_no_worker(tmp_path: Path, database: str) -> None:
    """Rerunning a finished batch reports it done without starting a worker (it started them first).

    The agent's file cannot be imported on the rerun: a worker would fail to start (exit 2).
    """
    tasks, out, agent = tmp_path / "tasks.jsonl", tmp_path / "out", tmp_path / "batch_agent.py"
    tasks.write_text('{"id": "t0", "prompt": "a"}\n{"id": "t1", "prompt": "b"}\n')
    agent.write_text("from tests._durable_agents import looper as agent\n")
    args = ["batch", str(tasks), "--agent", f"{agent}:agent", "--workers", "1", "--out", str(out),
            "--batch-id", "r1", "--database", database]  # fmt: skip
    with FakeKimiServer(Model()) as server:
        env = {URL_ENV: server.base_url, LOG_ENV: str(tmp_path / "tools.log")}
        first = run_cli(*args, env=env, cwd=Path.cwd(), timeout=500)
        assert first.returncode == 0, first.stdout + first.stderr
        requests = len(server.requests)
        (out / "results.jsonl").unlink()
        agent.write_text("raise RuntimeError('a worker imported the agent on a rerun')\n")
        again = run_cli(*args, env=env, cwd=Path.cwd(), timeout=500)
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(server.requests) == requests
    assert "attached to 2 runs of batch r1" in again.stderr
    assert "nothing left to run: every task's run has ended (no worker started)" in again.stderr
    assert "2 runs: 2 ok, 0 failed" in again.stdout
    assert [row["output"] for row in results(out)] == ["done: a ok", "done: b ok"]


@pytest.mark.timeout(600)
def test_a_system_database_without_tables_is_set_up_by_the_workers(tmp_path: Path, database: str) -> None:
    """A system database created by hand, still empty, is read as holding no run; the workers set it up."""
    if database.startswith("sqlite:///"):
        Path(database.removeprefix("sqlite:///")).touch()
    else:
        base, name = database.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is the fixture's: hex only
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out"
    tasks.write_text('{"id": "t0", "prompt": "a"}\n')
    with FakeKimiServer(Model()) as server:
        done = run_cli(
            "batch", str(tasks), "--agent", AGENT, "--workers", "1", "--out", str(out),
            "--database", database, env={URL_ENV: server.base_url, LOG_ENV: str(tmp_path / "tools.log")},
            cwd=Path.cwd(), timeout=500,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 run: 1 ok, 0 failed" in done.stdout


@pytest.mark.timeout(300)
def test_an_agent_that_does_not_import_stops_the_batch_before_any_run(tmp_path: Path) -> None:
    """A worker that cannot import the agent fails before saying ready, and the command says why."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"prompt": "a"}\n')
    done = run_cli(
        "batch", str(tasks), "--agent", "tests._durable_agents:no_such_agent", "--workers", "1",
        "--out", str(tmp_path / "out"), cwd=Path.cwd(), timeout=250,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot import the agent 'tests._durable_agents:no_such_agent'" in done.stderr
    assert "did not start" in done.stderr


@pytest.mark.timeout(300)
def test_a_missing_system_database_is_a_clear_error(tmp_path: Path, database: str) -> None:
    """With --workers 0, a system database that does not exist is named, with what to do."""
    missing = database.replace("runs.sqlite", "missing.sqlite") if "sqlite" in database else database + "_x"
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"prompt": "a"}\n')
    done = run_cli(
        "batch", str(tasks), "--agent", AGENT, "--workers", "0", "--database", missing, timeout=250
    )
    assert done.returncode == 2, done.stderr
    assert "a worker creates it when it starts" in done.stderr


@pytest.mark.timeout(600)
def test_workers_elsewhere_with_relative_paths_and_no_worker_hint(tmp_path: Path, database: str) -> None:
    """--workers 0 says when no worker takes runs; relative --out and agent file are the coordinator's."""
    (tmp_path / "batch_agent.py").write_text(
        "import os\nfrom agentkit import Agent\nfrom agentkit.models import KimiModel\n"
        "agent = Agent(KimiModel('kimi-k2-0905-preview', base_url=os.environ['AGENTKIT_TEST_KIMI_URL'],"
        " api_key='k'), name='plain')\n"
    )
    (tmp_path / "tasks.jsonl").write_text('{"id": "x", "prompt": "hello"}\n')
    with FakeKimiServer(lambda body: Reply.text("hi")) as server:
        env = {URL_ENV: server.base_url, LOG_ENV: str(tmp_path / "tools.log")}
        creator = start_worker(database, "creator", env)  # creates the system database
        creator.kill()
        creator.wait()
        coordinator = start_cli(
            "batch", "tasks.jsonl", "--agent", "batch_agent.py:agent", "--workers", "0",
            "--out", "out", "--database", database, "--batch-id", "w1", env=env, cwd=tmp_path,
        )  # fmt: skip
        worker: subprocess.Popen[str] | None = None
        try:
            assert coordinator.stderr is not None
            seen = ""
            while "no worker has taken a run" not in seen:
                line = coordinator.stderr.readline()
                assert line, seen
                seen += line
            worker = start_worker(database, "elsewhere", env)  # its cwd is not the coordinator's
            stdout, stderr = coordinator.communicate(timeout=500)
        finally:
            for proc in (coordinator, worker):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
    assert coordinator.returncode == 0, stdout + stderr
    assert results(tmp_path / "out")[0]["output"] == "hi"
    assert (tmp_path / "out" / "traces" / "w1-x.jsonl").is_file()
