"""``agentkit run`` and tools that need approval: --yes, a terminal prompt, or one clear line and exit 1."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from agentkit.testing import FakeKimiServer, Reply
from tests._cli import AGENTKIT, body, run_cli, write_agent

MAILER = '''
from pathlib import Path

@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: Recipient address.
        body: The message.
    """
    Path(__file__).with_name("sent.txt").write_text(to)
    return f"sent to {to}"

def build_mailer(model):
    return Agent(model, instructions="Mail bot.", tools=[send_email], name="mailer")
'''

SEND = Reply.tool_calls(("send_email", {"to": "bob@example.com", "body": "hi"}))


@pytest.fixture
def mailer(tmp_path: Path) -> str:
    """The mailer agent (one tool that needs approval) as a file spec."""
    return f"{write_agent(tmp_path, MAILER)}:build_mailer"


def test_yes_approves_the_call(mailer: str, tmp_path: Path) -> None:
    """With --yes the side-effect tool runs and its result goes back to the model."""
    with FakeKimiServer([SEND, Reply.text("Sent.")]) as server:
        done = run_cli("run", mailer, "Email Bob", "--base-url", server.base_url, "--yes", stdin="")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Sent.\n"
    assert (tmp_path / "sent.txt").read_text() == "bob@example.com"
    tool_results = [m for m in body(server, 1)["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["sent to bob@example.com"]


def test_without_yes_off_a_terminal_the_run_stops_with_one_line(mailer: str, tmp_path: Path) -> None:
    """Without --yes off a terminal the call does not run; one line names it and says to rerun with --yes."""
    with FakeKimiServer([SEND, Reply.text("Sent.")]) as server:
        done = run_cli("run", mailer, "Email Bob", "--base-url", server.base_url, "-q", stdin="")
        requests = len(server.requests)
    assert done.returncode == 1
    assert done.stdout == ""
    assert not (tmp_path / "sent.txt").exists()
    assert requests == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "send_email" in lines[0]
    assert "bob@example.com" in lines[0]
    assert "--yes" in lines[0]


def test_on_a_terminal_the_user_is_asked(mailer: str, tmp_path: Path) -> None:
    """On a terminal without --yes the prompt approver asks; answering y runs the call."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOONSHOT_", "AGENTKIT_TRACE"))}
    with FakeKimiServer([SEND, Reply.text("Sent.")]) as server:
        os.write(controller, b"y\n")
        done = subprocess.run(  # noqa: S603 - our own console script
            [str(AGENTKIT), "run", mailer, "Email Bob", "--base-url", server.base_url, "-q"],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    os.close(terminal)
    os.close(controller)
    assert done.returncode == 0, done.stderr
    assert "Run send_email(" in done.stderr
    assert done.stdout == "Sent.\n"
    assert (tmp_path / "sent.txt").read_text() == "bob@example.com"


BOSS = (
    MAILER
    + """
def build_boss(model):
    mailer = Agent(model, instructions="Mail bot.", tools=[send_email], name="mailer")
    return Agent(model, instructions="Boss.", tools=[mailer.as_tool()], name="boss")
"""
)
ASK_MAILER = Reply.tool_calls(("mailer", {"task": "email Bob hi"}))


def test_yes_approves_a_call_inside_an_agent_used_as_a_tool(tmp_path: Path) -> None:
    """--yes is also the approver of an agent the run calls as a tool: its call runs, its answer goes back."""
    spec = f"{write_agent(tmp_path, BOSS)}:build_boss"
    replies = [ASK_MAILER, SEND, Reply.text("mail sent"), Reply.text("Boss: done.")]
    with FakeKimiServer(replies) as server:
        done = run_cli("run", spec, "Email Bob", "--base-url", server.base_url, "--yes", stdin="")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Boss: done.\n"
    assert (tmp_path / "sent.txt").read_text() == "bob@example.com"
    tool_results = [m for m in body(server, 3)["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["mail sent"]


def test_a_nested_waiting_call_stops_the_run_naming_its_agent(tmp_path: Path) -> None:
    """Off a terminal without --yes, a call waiting inside an agent tool stops the run, naming both."""
    spec = f"{write_agent(tmp_path, BOSS)}:build_boss"
    with FakeKimiServer([ASK_MAILER, SEND, Reply.text("unused")]) as server:
        done = run_cli("run", spec, "Email Bob", "--base-url", server.base_url, "-q", stdin="")
        requests = len(server.requests)
    assert done.returncode == 1
    assert requests == 2
    assert not (tmp_path / "sent.txt").exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "mailer: send_email" in lines[0]
    assert "--yes" in lines[0]
