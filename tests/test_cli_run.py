"""``agentkit run``: the real command in a subprocess, offline against the loopback fake Kimi server."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from pathlib import Path

import orjson
import pytest

from agentkit.testing import FakeKimiServer, Reply
from tests._cli import AGENTKIT, body, run_cli, write_agent

TWO_CITIES = Reply.tool_calls(("weather", {"city": "Oslo"}), ("weather", {"city": "Rome"}))


@pytest.fixture
def agent_file(tmp_path: Path) -> str:
    """The weather agent as a file spec (a factory taking the model)."""
    return f"{write_agent(tmp_path)}:build"


def test_json_result_runs_parallel_tools(agent_file: str) -> None:
    """--json prints one JSON object with the output, usage and cost; both tool calls ran."""
    with FakeKimiServer([TWO_CITIES, Reply.text("Oslo 21 C, Rome 21 C.")]) as server:
        done = run_cli(
            "run", agent_file, "Weather in Oslo and Rome?", "--base-url", server.base_url, "--json"
        )
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout)
    assert result["output"] == "Oslo 21 C, Rome 21 C."
    assert result["turns"] == 2
    assert result["usage"]["tool_calls"] == 2
    assert result["usage"]["input_tokens"] > 0
    tool_results = [m for m in body(server, 1)["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["Oslo: 21 C", "Rome: 21 C"]


def test_plain_progress_lines_when_not_a_terminal(agent_file: str) -> None:
    """Off a terminal, progress is plain stderr lines: both parallel calls start before either ends."""
    with FakeKimiServer([TWO_CITIES, Reply.text("Mild.")]) as server:
        done = run_cli("run", agent_file, "Weather?", "--base-url", server.base_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Mild.\n"
    lines = done.stderr.splitlines()
    started = [i for i, line in enumerate(lines) if "weather(" in line and line.endswith("started")]
    finished = [i for i, line in enumerate(lines) if "weather(" in line and " done in " in line]
    assert len(started) == 2
    assert len(finished) == 2
    assert max(started) < min(finished)
    assert any(line.startswith("turn 2 finished:") and "$" in line for line in lines)
    assert "2 turns, 2 tool calls" in lines[-1]


def test_stream_prints_text_and_writes_trace(agent_file: str, tmp_path: Path) -> None:
    """--stream prints the answer as generated; --trace writes a JSONL trace of the run."""
    trace = tmp_path / "run.jsonl"
    with FakeKimiServer([Reply.text("Sunny all week.")]) as server:
        done = run_cli(
            "run", agent_file, "Weather?", "--base-url", server.base_url, "--stream", "--trace", str(trace)
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Sunny all week.\n"
    assert body(server, 0)["stream"] is True
    header = orjson.loads(trace.read_text().splitlines()[0])
    assert header["agent"] == "weather"
    assert f"trace {trace}" in done.stderr


def test_model_option_reaches_the_factory(agent_file: str) -> None:
    """--model chooses the model name the factory's agent sends."""
    with FakeKimiServer([Reply.text("ok")]) as server:
        done = run_cli(
            "run", agent_file, "hi", "--base-url", server.base_url, "-m", "kimi-k2-turbo-preview", "-q"
        )
    assert done.returncode == 0, done.stderr
    assert body(server, 0)["model"] == "kimi-k2-turbo-preview"
    assert done.stderr == ""  # --quiet: the answer only


@pytest.mark.parametrize("extra", [[], ["--stream"], ["--json"]])
def test_quiet_prints_the_answer_and_nothing_else(agent_file: str, extra: list[str]) -> None:
    """-q: the answer (or the JSON result) on stdout and nothing on stderr; it printed the summary line."""
    with FakeKimiServer([TWO_CITIES, Reply.text("Mild.")]) as server:
        done = run_cli("run", agent_file, "Weather?", "--base-url", server.base_url, "-q", *extra)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if extra == ["--json"]:
        assert orjson.loads(done.stdout)["output"] == "Mild."
    else:
        assert done.stdout == "Mild.\n"


def test_quiet_on_a_terminal_draws_no_live_panel(agent_file: str) -> None:
    """-q with stderr on a terminal writes nothing there (the live panel was drawn, then cleared)."""
    controller, terminal = pty.openpty()
    shown: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(controller, shown))
    reader.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOONSHOT_", "AGENTKIT_TRACE"))}
    with FakeKimiServer([TWO_CITIES, Reply.text("Mild.")]) as server:
        done = subprocess.run(  # noqa: S603 - our own console script
            [str(AGENTKIT), "run", agent_file, "Weather?", "--base-url", server.base_url, "-q"],
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    os.close(terminal)
    reader.join(timeout=30)
    os.close(controller)
    assert done.returncode == 0
    assert done.stdout == "Mild.\n"
    assert b"".join(shown) == b""


def _drain(fd: int, into: list[bytes]) -> None:
    """Read a pty's controller side until the terminal side is closed."""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: no process holds the terminal side any more
            return
        if not chunk:
            return
        into.append(chunk)


def test_agent_instance_gets_the_base_url(tmp_path: Path) -> None:
    """A spec naming an Agent instance runs it against --base-url instead of its own model."""
    extra = """
    from agentkit.models.function import ScriptedModel
    agent = build(ScriptedModel(["from the scripted model"]))
    """
    path = write_agent(tmp_path, extra)
    with FakeKimiServer([Reply.text("from the server")]) as server:
        done = run_cli("run", str(path), "hi", "--base-url", server.base_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from the server\n"


def test_chat_carries_the_conversation(agent_file: str) -> None:
    """Without a prompt the command chats: each line is a run that continues the conversation."""
    with FakeKimiServer([Reply.text("Hello!"), Reply.text("You said hi.")]) as server:
        done = run_cli("run", agent_file, "--base-url", server.base_url, "-q", stdin="hi\nwhat did I say?\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello!\nYou said hi.\n"
    second = [(m["role"], m.get("content")) for m in body(server, 1)["messages"]]
    assert second[1:] == [
        ("user", "hi"),
        ("assistant", "Hello!"),
        ("user", "what did I say?"),
    ]


def test_chat_survives_a_failed_exchange(agent_file: str) -> None:
    """A failed exchange in a chat prints one error line and the chat goes on."""
    script = [Reply.error(400, "invalid_request_error", "bad request"), Reply.text("Recovered.")]
    with FakeKimiServer(script) as server:
        done = run_cli("run", agent_file, "--base-url", server.base_url, "-q", stdin="one\ntwo\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Recovered.\n"
    assert "error: the run failed (ModelHTTPError)" in done.stderr


def test_chat_ends_its_prompt_line_at_end_of_input(agent_file: str) -> None:
    """Ctrl-D (end of input) at the chat prompt ends that line: the shell's prompt is not glued to it."""
    with FakeKimiServer([Reply.text("Hello!")]) as server:
        done = run_cli("run", agent_file, "--base-url", server.base_url, "-q", stdin="hi\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("you> \n")
    assert "chatting with" not in done.stderr  # -q: no banner; the prompt stays


def test_summary_counts_in_the_singular_and_plural(agent_file: str) -> None:
    """A one-turn run without tool calls is summed up as "1 turn, 0 tool calls" (not "1 turns")."""
    with FakeKimiServer([Reply.text("Hi.")]) as server:
        done = run_cli("run", agent_file, "hi", "--base-url", server.base_url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1].startswith("1 turn, 0 tool calls, ")
