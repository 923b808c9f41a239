"""``agentkit sessions list|show|fork|delete`` on a SQLite session file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import orjson
import pytest
from typer.testing import CliRunner

from agentkit.cli import app
from agentkit.memory import SQLiteMemory
from agentkit.messages import ToolMessage, UserMessage, message_from_dict
from tests._memory_backends import tool_turn

RUNNER = CliRunner()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A session file holding alice (two turns, 8 messages) and bob (one turn, 4 messages)."""
    path = tmp_path / "s.db"
    memory = SQLiteMemory(path)

    async def fill() -> None:
        await memory.append("alice", tool_turn(0))
        await memory.append("alice", tool_turn(1))
        await memory.append("bob", tool_turn(2))

    anyio.run(fill)
    memory.close()
    return path


def test_the_real_command_lists_and_deletes(db: Path) -> None:
    """The real command, run as a separate process, lists and deletes sessions in the file."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "AGENTKIT_DB": str(db)}

    def agentkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - runs this interpreter on agentkit's own CLI
            [sys.executable, "-m", "agentkit.cli", "sessions", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    listed = agentkit("list")
    assert (listed.returncode, listed.stdout) == (0, "alice\t8 messages\nbob\t4 messages\n")
    deleted = agentkit("delete", "bob")
    assert (deleted.returncode, deleted.stdout) == (0, "deleted bob (4 messages)\n")
    assert RUNNER.invoke(app, ["sessions", "list", "--db", str(db)]).stdout == "alice\t8 messages\n"


def test_show_prints_one_line_per_message(db: Path) -> None:
    """``show`` prints each message's role and text, tool calls with their ids."""
    result = RUNNER.invoke(app, ["sessions", "show", "bob", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "     user: question 2",
        'assistant: -> lookup({"i": 0}) [functions.lookup:4], lookup({"i": 1}) [functions.lookup:5]',
        "     tool: [functions.lookup:4] result functions.lookup:4",
        "     tool: [functions.lookup:5] result functions.lookup:5",
    ]


def test_show_json_round_trips_every_message(db: Path) -> None:
    """``show --json`` prints one JSON line per message that rebuilds the stored message exactly."""
    result = RUNNER.invoke(app, ["sessions", "show", "alice", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    rebuilt = [message_from_dict(orjson.loads(line)) for line in result.stdout.splitlines()]
    assert rebuilt == [*tool_turn(0), *tool_turn(1)]


def test_show_marks_tool_errors_and_shortens_long_lines(tmp_path: Path) -> None:
    """Tool results show their call id and an ERROR flag; --width cuts long text with an ellipsis."""
    path = tmp_path / "e.db"
    memory = SQLiteMemory(path)
    long = UserMessage(content="word " * 50)
    failed = ToolMessage(tool_call_id="functions.f:0", name="f", content="boom", is_error=True)

    async def fill() -> None:
        await memory.append("s", [long, failed])

    anyio.run(fill)
    memory.close()
    result = RUNNER.invoke(app, ["sessions", "show", "s", "--width", "26", "--db", str(path)])
    assert result.stdout.splitlines() == [
        "     user: word word word word wor...",
        "     tool: [functions.f:0] ERROR boom",
    ]


def test_fork_copies_a_session(db: Path) -> None:
    """``fork`` makes a second session with the same messages."""
    result = RUNNER.invoke(app, ["sessions", "fork", "alice", "carol", "--db", str(db)])
    assert (result.exit_code, result.stdout) == (0, "forked alice -> carol\n")
    listed = RUNNER.invoke(app, ["sessions", "list", "--db", str(db)])
    assert "carol\t8 messages" in listed.stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["show", "nobody"], "error: no session named 'nobody'"),
        (["delete", "nobody"], "error: no session named 'nobody'"),
        (["fork", "nobody", "x"], "error: cannot fork: no session named 'nobody'"),
        (["fork", "alice", "bob"], "error: cannot fork: session 'bob' already exists"),
    ],
)
def test_mistakes_print_one_error_line_and_exit_2(db: Path, args: list[str], error: str) -> None:
    """Unknown sessions and refused forks print one clear error line and exit 2 (a usage problem)."""
    result = RUNNER.invoke(app, ["sessions", *args, "--db", str(db)])
    assert (result.exit_code, result.stderr.strip()) == (2, error)


def test_a_missing_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    """A file that does not exist is reported with how to name another store, and nothing is created."""
    missing = tmp_path / "nope.db"
    result = RUNNER.invoke(app, ["sessions", "list", "--db", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: no session database at {missing}; name one with --db FILE (or AGENTKIT_DB) or "
        "--postgres DSN (a run with Agent(memory=SQLiteMemory(FILE)) and a session creates it)"
    )
    assert not missing.exists()
