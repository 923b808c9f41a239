"""``agentkit batch`` keeps each session's tasks in file order while sessions run in parallel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentkit.testing import FakeKimiServer, Reply
from tests._cli import run_cli
from tests._durable_agents import MEMORY_ENV, SYSTEM_DATABASES, URL_ENV, system_database

SESSIONS, TURNS = 10, 6


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database URL: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        yield url


def answer_last(body: dict[str, Any]) -> Reply:
    """Play a model that answers ``done <the last user message>``."""
    return Reply.text(f"done {body['messages'][-1]['content']}")


@pytest.mark.timeout(900)
def test_each_turn_sees_its_sessions_earlier_turns(tmp_path: Path, database: str) -> None:
    """10 sessions x 6 turns in turn order, 3 workers: each request carries exactly the turns before it."""
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out"
    lines = [
        {"id": f"s{s}-q{q}", "prompt": f"s{s} q{q}", "session": f"s{s}"}
        for q in range(1, TURNS + 1)
        for s in range(SESSIONS)
    ]
    tasks.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    with FakeKimiServer(answer_last) as server:
        env = {URL_ENV: server.base_url, MEMORY_ENV: str(tmp_path / "memory.sqlite")}
        done = run_cli(
            "batch", str(tasks), "--agent", "tests._durable_agents:chatter", "--workers", "3",
            "--concurrency", "4", "--out", str(out), "--batch-id", "c1", "--database", database,
            env=env, cwd=Path.cwd(), timeout=800,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        bodies = [r.body for r in server.requests]
    assert len(bodies) == SESSIONS * TURNS
    for body in bodies:
        assert body is not None
        said = [m["content"] for m in body["messages"] if m["role"] in ("user", "assistant")]
        session, turn = said[-1].split(" q")
        expected: list[str] = []
        for q in range(1, int(turn)):
            expected += [f"{session} q{q}", f"done {session} q{q}"]
        assert said == [*expected, f"{session} q{turn}"]
    results = [orjson.loads(line) for line in (out / "results.jsonl").read_bytes().splitlines()]
    assert [r["id"] for r in results] == [line["id"] for line in lines]
    assert all(r["output"] == f"done {line['prompt']}" for r, line in zip(results, lines, strict=True))
