"""Serving agentkit tools over MCP: `agentkit mcp serve` as a real process, used by the SDK's client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

import agentkit
from agentkit import Agent, tool
from agentkit.approval import approve_all
from agentkit.cli import app
from agentkit.cli.mcp import load_target
from agentkit.exceptions import UserError
from agentkit.mcp import MCPTools, ToolOptions, agent_tool, call_tool, mcp_server
from agentkit.models.function import ScriptedModel, call
from agentkit.tool import Toolset

pytestmark = pytest.mark.anyio

SERVED_MODULE = '''
from agentkit import Agent, tool
from agentkit.exceptions import ModelRetry
from agentkit.models.function import ScriptedModel, call


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@tool
def polite(word: str) -> str:
    """Accept only a polite word."""
    if word != "please":
        raise ModelRetry("say 'please'")
    return "thank you"


@tool
def broken() -> str:
    """Always raises."""
    raise RuntimeError("boom")


tools = [add, polite, broken]

# A scripted model: the served agent answers without any network.
agent = Agent(
    ScriptedModel([call("add", {"a": 2, "b": 3}), "2 + 3 = 5"]),
    name="calc",
    instructions="Use the tools.",
    tools=[add],
)
'''

REPO_ROOT = Path(agentkit.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module above, written once for the whole test module."""
    path = tmp_path_factory.mktemp("served") / "served_tools.py"
    path.write_text(SERVED_MODULE)
    return path


def serve_args(target: str, *extra: str) -> list[str]:
    """The interpreter arguments of `agentkit mcp serve TARGET ...`."""
    return ["-m", "agentkit.cli", "mcp", "serve", target, *extra]


def child_env() -> dict[str, str]:
    """The checkout under test first on the child's path (it may not be the installed one)."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}


def serve_http(target: str, *extra: str) -> Iterator[str]:
    """Run `agentkit mcp serve TARGET --http --port 0` and yield the endpoint it announces."""
    command = [sys.executable, *serve_args(target, "--http", "--port", "0", *extra)]
    env = {**os.environ, **child_env()}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)  # noqa: S603 - this interpreter, our CLI
    try:
        assert process.stderr is not None
        line = process.stderr.readline().decode()
        assert "listening on" in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]  # set by stderr=PIPE


@pytest.fixture(scope="module")
def http_tools_url(served: Path) -> Iterator[str]:
    """One server process for the module's HTTP tests (starting Python with agentkit takes seconds)."""
    yield from serve_http(f"{served}:tools")


@pytest.fixture(scope="module")
def http_agent_url(served: Path) -> Iterator[str]:
    """The served module's agent over HTTP, with its own tools too."""
    yield from serve_http(f"{served}:agent", "--agent-tools")


def _text(result: mcp_types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, mcp_types.TextContent))


async def test_stdio_serves_the_tools_with_their_schemas_to_the_sdk_client(served: Path) -> None:
    """`agentkit mcp serve file.py:tools` over stdio lists each tool with agentkit's schema and runs calls."""
    params = StdioServerParameters(
        command=sys.executable, args=serve_args(f"{served}:tools"), env=child_env()
    )
    async with Client(params) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert sorted(listed) == ["add", "broken", "polite"]
        assert listed["add"].description == "Add two integers."
        assert listed["add"].input_schema["properties"]["a"]["description"] == "The first number."
        result = await client.call_tool("add", {"a": 20, "b": 22})
        assert not result.is_error
        assert _text(result) == "42"


async def test_failures_come_back_as_error_results_with_agentkit_feedback(http_tools_url: str) -> None:
    """Bad arguments, ModelRetry and exceptions become isError results with the text a model would get."""
    async with Client(http_tools_url) as client:
        bad = await client.call_tool("add", {"a": 1})
        retry = await client.call_tool("polite", {"word": "now"})
        boom = await client.call_tool("broken", {})
        unknown = await client.call_tool("nope", {})
        fine = await client.call_tool("polite", {"word": "please"})
    assert bad.is_error
    assert "missing required parameter 'b'" in _text(bad)
    assert retry.is_error
    assert _text(retry) == "say 'please'"
    assert boom.is_error
    assert "RuntimeError: boom" in _text(boom)
    assert unknown.is_error
    assert "Unknown tool 'nope'" in _text(unknown)
    assert not fine.is_error
    assert _text(fine) == "thank you"


async def test_http_serves_an_agent_as_one_tool(http_agent_url: str) -> None:
    """`--http` serves an agent as `ask_<name>` (plus its tools with --agent-tools); a call runs the agent."""
    async with Client(http_agent_url) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        assert names == ["add", "ask_calc"]
        result = await client.call_tool("ask_calc", {"prompt": "What is 2 + 3?"})
    assert not result.is_error
    assert _text(result) == "2 + 3 = 5"


async def test_agentkit_on_both_ends(served: Path) -> None:
    """An agentkit agent uses tools that another agentkit process serves over MCP."""
    model = ScriptedModel([call("add", {"a": 4, "b": 5}), "nine"])
    async with MCPTools.stdio(sys.executable, serve_args(f"{served}:tools"), env=child_env()) as remote:
        result = await Agent(model, tools=[remote]).run("4 + 5?")
    assert result.output == "nine"
    assert result.messages[-2].content == "9"


async def test_in_process_server_speaks_mcp_to_the_sdk_client() -> None:
    """The server object answers the SDK's in-process client: listing, calls and the agent tool."""

    @tool
    def shout(text: str) -> str:
        """Shout the text."""
        return text.upper()

    agent = Agent(ScriptedModel(["hello there"]), name="greeter")
    server = mcp_server(tools=[shout], agent=agent, name="demo")
    async with Client(server) as client:
        assert sorted(t.name for t in (await client.list_tools()).tools) == ["ask_greeter", "shout"]
        assert _text(await client.call_tool("shout", {"text": "hi"})) == "HI"
        assert _text(await client.call_tool("ask_greeter", {"prompt": "hi"})) == "hello there"


async def test_a_failed_agent_run_is_an_error_result() -> None:
    """An agent run that ends in a RunError answers with an error result naming the failure."""
    agent = Agent(ScriptedModel([call("missing")]), name="loops", max_turns=1)
    result = await call_tool(Toolset([agent_tool(agent)]), "ask_loops", {"prompt": "go"})
    assert result.is_error
    assert "MaxTurnsExceeded" in _text(result)


SENT: list[str] = []


@tool(requires_approval=True)
def send_note(to: str) -> str:
    """Send a note.

    Args:
        to: The recipient.
    """
    SENT.append(to)
    return f"sent to {to}"


def _served_boss(**options: Any) -> Agent[str]:
    """An agent that asks its 'mailer' agent (used as a tool) to send a note, which needs approval."""
    mailer = Agent(
        ScriptedModel([call("send_note", {"to": "bob"}), "note sent"]), name="mailer", tools=[send_note]
    )
    model = ScriptedModel([call("mailer", {"task": "note Bob"}), "Done: note sent"])
    return Agent(model, name="boss", tools=[mailer.as_tool()], **options)


async def test_served_agent_whose_agent_tool_waits_answers_an_error_naming_it() -> None:
    """A served agent whose agent tool's call waits for approval answers an error naming both; nothing ran."""
    SENT.clear()
    result = await call_tool(Toolset([agent_tool(_served_boss())]), "ask_boss", {"prompt": "note Bob"})
    assert result.is_error
    assert "its tool calls (mailer: send_note) need approval" in _text(result)
    assert SENT == []


async def test_served_agents_approver_decides_for_its_agent_tools() -> None:
    """A served agent's own approver decides its agent tool's calls, as in-process: the note is sent once."""
    SENT.clear()
    served = _served_boss(approve=approve_all)
    result = await call_tool(Toolset([agent_tool(served)]), "ask_boss", {"prompt": "note Bob"})
    assert not result.is_error
    assert _text(result) == "Done: note sent"
    assert SENT == ["bob"]


def test_nothing_to_serve_is_refused() -> None:
    """Building a server with no tools and no agent is a UserError."""
    with pytest.raises(UserError, match="nothing to serve"):
        mcp_server()


def test_targets_are_loaded_from_files_modules_and_factories(tmp_path: Path) -> None:
    """load_target reads file.py:name and package.module:name, and calls a factory function."""
    module = tmp_path / "served_factory.py"
    module.write_text(SERVED_MODULE + "\ndef build():\n    return tools[:1]\n")
    assert [t.name for t in load_target(f"{module}:tools")] == ["add", "polite", "broken"]
    assert [t.name for t in load_target(f"{module}:build")] == ["add"]
    assert load_target("agentkit.mcp.client:ToolOptions") is ToolOptions  # a class is not a factory
    with pytest.raises(UserError, match="cannot read"):
        load_target("no-colon")


def test_the_cli_refuses_a_target_it_cannot_serve(tmp_path: Path) -> None:
    """`agentkit mcp serve` on something that is not tools or an agent exits 2 (usage) with one clear line."""
    module = tmp_path / "numbers.py"
    module.write_text("number = 3\n")
    done = CliRunner().invoke(app, ["mcp", "serve", f"{module}:number"])
    assert done.exit_code == 2
    assert "cannot serve a int" in done.output


def test_the_cli_reports_a_missing_attribute(served: Path) -> None:
    """A target naming nothing exits 2 (usage, like every command) and says which attribute is missing."""
    done = CliRunner().invoke(app, ["mcp", "serve", f"{served}:nothing"])
    assert done.exit_code == 2
    assert "has no attribute 'nothing'" in done.output
