"""CLI output of model and tool text cannot drive the terminal (escape sequences are shown, not sent)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from agentkit import Agent, tool
from agentkit._terminal import terminal_safe
from agentkit.cli import app
from agentkit.memory import SQLiteMemory
from agentkit.models.function import ScriptedModel
from tests.builders import calls

RUNNER = CliRunner()

#: OSC 52 (write the clipboard), a title change, CSI clear-screen, a one-byte C1 CSI, a carriage
#: return that would overwrite the line, and a bidi override.
HOSTILE = "\x1b]52;c;cm0gLXJmIH4=\x07 \x1b]0;pwned\x07 \x1b[2J \x9b31m \rfake \u202eevil"
CONTROLS = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


@tool
def fetch(url: str) -> str:
    """Fetch a page.

    Args:
        url: The page.
    """
    return HOSTILE


def _run(tmp_path: Path) -> tuple[Path, Path]:
    db, trace = tmp_path / "s.db", tmp_path / "t.jsonl"
    memory = SQLiteMemory(db)
    model = ScriptedModel([calls(("fetch", {"url": HOSTILE})), HOSTILE])
    anyio.run(lambda: Agent(model, tools=[fetch], memory=memory).run(HOSTILE, session="s", trace=trace))
    memory.close()
    return db, trace


def _clean(text: str) -> None:
    for control in CONTROLS:
        assert control not in text
    assert "\\u001b]52;c;" in text  # shown, not sent


@pytest.mark.parametrize("json_output", [False, True])
def test_sessions_show_escapes_terminal_controls(tmp_path: Path, json_output: bool) -> None:
    """`agentkit sessions show` prints control characters as visible escapes (JSON stays valid)."""
    db, _ = _run(tmp_path)
    args = ["sessions", "show", "s", "--db", str(db), *(["--json"] if json_output else [])]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    _clean(result.stdout)
    if json_output:  # the escapes are JSON's: every message reads back exactly
        contents = [json.loads(line).get("content") for line in result.stdout.splitlines()]
        assert contents.count(HOSTILE) == 3  # the prompt, the tool result, the answer


def test_trace_show_escapes_terminal_controls(tmp_path: Path) -> None:
    """`agentkit trace show` prints the hostile tool result and answer without their controls."""
    _, trace = _run(tmp_path)
    result = RUNNER.invoke(app, ["trace", "show", str(trace)])
    assert result.exit_code == 0, result.output
    _clean(result.stdout)


def test_terminal_safe_keeps_json_valid_and_equal() -> None:
    """Escaping raw C1 and bidi characters inside a JSON string keeps the same JSON value."""
    text = json.dumps({"t": HOSTILE}, ensure_ascii=False)
    assert json.loads(terminal_safe(text)) == {"t": HOSTILE}
