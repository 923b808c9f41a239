"""Stored sessions survive kill -9 mid-turn and concurrent writers in other processes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from agentkit.memory import Memory, SQLiteMemory
from agentkit.memory.repair import repair_history
from agentkit.messages import AssistantMessage, Message, ToolMessage, UserMessage
from tests._memory_backends import postgres_dsn

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]

#: Runs an agent forever: every turn asks for 16 parallel tool calls, so a turn is 17 messages.
AGENT_FOREVER = """
import sys
from agentkit import Agent, tool
from agentkit.memory import SQLiteMemory
from agentkit.messages import AssistantMessage
from agentkit.models.function import FunctionModel, call

@tool
def echo(i: int) -> str:
    '''Echo a number.'''
    return "echo " * 20 + str(i)

def play(request):
    return AssistantMessage(tool_calls=tuple(call("echo", {"i": i}) for i in range(16)))

agent = Agent(FunctionModel(play), tools=[echo], memory=SQLiteMemory(sys.argv[1]), max_turns=10**9)
agent.run_sync("go", session="crash")
"""

#: Appends turns of a named writer (a user message, then an assistant message naming it), starting
#: when the file ``go`` appears. Every ``CHUNK`` turns the writer touches ``<go>.<writer>.<k>`` and waits
#: for the other writer's file of the same ``k``: a barrier across the two processes, so each writer's
#: chunk ``k + 1`` is stored after the other's chunk ``k`` and the two are interleaved by construction.
APPEND_TURNS = """
import os, sys, time, anyio
from agentkit.messages import AssistantMessage, UserMessage

CHUNK = 50

def meet(go, writer, other, k):
    open(f"{go}.{writer}.{k}", "w").close()
    deadline = time.monotonic() + 60  # a deadlock breaker, not a speed limit
    while not os.path.exists(f"{go}.{other}.{k}"):
        if time.monotonic() > deadline:
            sys.exit(f"writer {other} never reached checkpoint {k}")
        time.sleep(0.001)

async def main(kind, where, writer, count):
    if kind == "sqlite":
        from agentkit.memory import SQLiteMemory
        memory = SQLiteMemory(where)
    else:
        from agentkit.memory.postgres import PostgresMemory
        memory = PostgresMemory(where, table=sys.argv[5])
    go, other = sys.argv[6], "b" if writer == "a" else "a"
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    for n in range(count):
        if n and n % CHUNK == 0:
            meet(go, writer, other, n // CHUNK)
        text = f"{writer}:{n}"
        await memory.append("shared", [UserMessage(content=text), AssistantMessage(content=text)])

anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
"""


def _python(script: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(  # noqa: S603 - runs this interpreter on scripts defined in this file
        [sys.executable, "-c", script, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _assert_whole_turns(stored: list[Message]) -> None:
    """Every assistant tool call is followed by all 16 of its results."""
    assert repair_history(stored) == stored
    for index, message in enumerate(stored):
        if isinstance(message, AssistantMessage) and message.tool_calls:
            results = stored[index + 1 : index + 1 + len(message.tool_calls)]
            assert [r.tool_call_id for r in results if isinstance(r, ToolMessage)] == [
                c.id for c in message.tool_calls
            ]


async def _wait_for_turns(memory: Memory, session: str, count: int) -> int:
    """Poll until the session holds at least ``count`` assistant messages; return how many it has."""
    with anyio.fail_after(30):
        while True:
            stored = await memory.load(session)
            turns = sum(isinstance(m, AssistantMessage) for m in stored)
            if turns >= count:
                return turns
            await anyio.sleep(0.01)


async def test_kill_9_mid_run_never_leaves_a_tool_call_without_its_result(tmp_path: Path) -> None:
    """A child agent process killed with SIGKILL, twice over, leaves only whole turns stored."""
    db = tmp_path / "crash.db"
    memory = SQLiteMemory(db)
    for round_ in range(2):
        child = _python(AGENT_FOREVER, str(db))
        try:
            before = await _wait_for_turns(memory, "crash", 5 * (round_ + 1))
            await anyio.sleep(0.013 * (round_ + 1))  # land the kill at a different point of a turn
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
        stored = await memory.load("crash")
        assert sum(isinstance(m, AssistantMessage) for m in stored) >= before
        _assert_whole_turns(stored)
    memory.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_two_processes_appending_to_one_session_lose_no_turn(kind: str, tmp_path: Path) -> None:
    """Two writer processes append 300 turns each, meeting at barriers; all stored whole, each in order."""
    count = 300
    table = f"agentkit_test_two_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    if kind == "sqlite":
        where = str(tmp_path / "shared.db")
        memory: Memory = SQLiteMemory(where)
    else:
        where = postgres_dsn()
        from agentkit.memory.postgres import PostgresMemory  # noqa: PLC0415 - psycopg only when configured

        memory = PostgresMemory(where, table=table)
    go = tmp_path / "go"
    writers = [_python(APPEND_TURNS, kind, where, name, str(count), table, str(go)) for name in ("a", "b")]
    for writer in writers:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err.decode()
    stored = await memory.load("shared")
    try:
        assert len(stored) == 2 * count * 2
        pairs = [(stored[i], stored[i + 1]) for i in range(0, len(stored), 2)]
        assert all(isinstance(u, UserMessage) and u.content == a.content for u, a in pairs)
        texts = [str(u.content) for u, _ in pairs]
        for name in ("a", "b"):
            assert [t for t in texts if t.startswith(f"{name}:")] == [f"{name}:{n}" for n in range(count)]
        switches = sum(p[0] != q[0] for p, q in itertools.pairwise(texts))
        assert switches >= count // 50 - 1, "the barriers guarantee this many switches between writers"
    finally:
        if kind == "postgres":
            await memory.drop_tables()  # type: ignore[attr-defined]  # PostgresMemory here
