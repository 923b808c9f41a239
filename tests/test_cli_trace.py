"""The CLI: ``agentkit trace show``, ``agentkit trace view`` and ``agentkit replay``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit import Agent, tool
from agentkit.cli import app
from agentkit.models.function import ScriptedModel
from tests._cli import AGENTKIT
from tests.builders import calls

RUNNER = CliRunner()

AGENT_MODULE = '''
from agentkit import Agent, tool

@tool
def weather(city: str) -> str:
    """Weather.

    Args:
        city: City name.
    """
    return f"{city}: TEMPERATURE"

def build(model):
    return Agent(model, instructions="INSTRUCTIONS", tools=[weather], name="weather")

agent = build(__import__("agentkit.models.function", fromlist=["x"]).ScriptedModel(["unused"]))
'''


@tool
def weather(city: str) -> str:
    """Weather.

    Args:
        city: City name.
    """
    return f"{city}: 21 C"


def _recorded(path: Path) -> Path:
    model = ScriptedModel([calls(("weather", {"city": "Oslo"}), ("weather", {"city": "Rome"})), "Mild."])
    Agent(model, instructions="Weather bot.", tools=[weather], name="weather").run_sync("Oslo?", trace=path)
    return path


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, instructions: str, temp: str) -> str:
    source = AGENT_MODULE.replace("INSTRUCTIONS", instructions).replace("TEMPERATURE", temp)
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return name


def test_show_prints_the_span_tree(tmp_path: Path) -> None:
    """`agentkit trace show` prints the run, its turns, model and tool calls with timings, tokens and cost."""
    result = RUNNER.invoke(app, ["trace", "show", str(_recorded(tmp_path / "run.jsonl"))])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "origin authored" in lines[0]
    assert lines[1].startswith("invoke_agent weather")
    assert "tokens" in lines[1]
    assert "$" in lines[1]
    assert [line.lstrip(" │├└─").split("  ")[0] for line in lines[2:]] == [
        "turn 1",
        "chat scripted",
        "execute_tool weather",
        "execute_tool weather",
        "turn 2",
        "chat scripted",
    ]
    assert "-> Oslo: 21 C" in result.output


def test_show_rejects_a_non_trace_with_one_line(tmp_path: Path) -> None:
    """A file that is not a trace gives one error line and exit status 2 (a usage problem)."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type":"header","format":"agentkit-trace","version":7}\n')
    result = RUNNER.invoke(app, ["trace", "show", str(bad)])
    assert result.exit_code == 2
    assert "version 7 is not supported" in result.output


def test_view_writes_a_self_contained_page(tmp_path: Path) -> None:
    """`agentkit trace view` writes one HTML file with the spans embedded and no external references."""
    out = tmp_path / "run.html"
    result = RUNNER.invoke(app, ["trace", "view", str(_recorded(tmp_path / "run.jsonl")), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "execute_tool weather" in page
    assert "http://" not in page
    assert "https://" not in page
    assert "<script src" not in page


def test_view_writes_beside_the_trace_by_default(tmp_path: Path) -> None:
    """`agentkit trace view run.jsonl` writes run.html beside it, as docs/evals.md shows (it required -o)."""
    result = RUNNER.invoke(app, ["trace", "view", str(_recorded(tmp_path / "run.jsonl"))])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {tmp_path / 'run.html'}\n"
    assert "execute_tool weather" in (tmp_path / "run.html").read_text()


def test_replay_reports_a_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`agentkit replay --agent module:attr` re-runs the same agent on the recording and reports a match."""
    trace = _recorded(tmp_path / "run.jsonl")
    name = _module(tmp_path, monkeypatch, "same_agent", "Weather bot.", "21 C")
    for attr in ("agent", "build"):
        result = RUNNER.invoke(app, ["replay", str(trace), "--agent", f"{name}:{attr}"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("match: 2 model calls replayed")


def test_replay_reports_a_mismatch_with_the_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed tool result is reported as a mismatch naming turn and field, exit status 1."""
    trace = _recorded(tmp_path / "run.jsonl")
    name = _module(tmp_path, monkeypatch, "changed_agent", "Weather bot.", "35 C")
    result = RUNNER.invoke(app, ["replay", str(trace), "--agent", f"{name}:agent"])
    assert result.exit_code == 1
    assert "mismatch: turn 2: the request differs from the recording in messages[3].content" in result.output
    assert "+Oslo: 35 C" in result.output
    lenient = RUNNER.invoke(app, ["replay", str(trace), "--agent", f"{name}:agent", "--lenient"])
    assert lenient.exit_code == 0, lenient.output


def test_replay_with_a_bad_agent_spec(tmp_path: Path) -> None:
    """An --agent naming nothing importable is a usage error (exit 2) that shows the forms to use."""
    result = RUNNER.invoke(app, ["replay", str(_recorded(tmp_path / "run.jsonl")), "--agent", "nocolon"])
    assert result.exit_code == 2
    assert "path/to/file.py:agent or package.module:agent" in result.output


@tool
def echo_back(text: str) -> str:
    """Echo.

    Args:
        text: Anything.
    """
    return text


def test_show_piped_into_head_stops_quietly(tmp_path: Path) -> None:
    """`agentkit trace show big.jsonl | head -1` prints one line and no error (it printed BrokenPipeError)."""
    path = tmp_path / "big.jsonl"
    many = calls(*(("echo_back", {"text": f"line {i} " + "x" * 40}) for i in range(3_000)))
    Agent(ScriptedModel([many, "done"]), tools=[echo_back], name="big").run_sync("go", trace=path)
    done = subprocess.run(  # noqa: S603 - our own command in a shell pipeline, on a file we wrote
        [
            shutil.which("bash") or "/bin/bash",
            "-c",
            f'"{AGENTKIT}" trace show "{path}" | head -1; exit "${{PIPESTATUS[0]}}"',
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith(str(path))
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE, as the shell reports a closed pipe
