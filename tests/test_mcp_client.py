"""MCPTools: a real MCP server process (the official SDK's MCPServer) used over stdio and HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.approval import Reject
from agentkit.exceptions import ModelRetry, ToolArgumentsError, ToolTimeoutError, UserError
from agentkit.mcp import MCPTools, ToolOptions
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.function import ScriptedModel, call

pytestmark = pytest.mark.anyio

# A small MCP server written with the SDK itself, so the client is tested against an
# implementation that is not ours. Run as `python server.py` (stdio) or `python server.py http`
# (streamable HTTP on a free loopback port, printed on stdout once listening).
FIXTURE_SERVER = r'''
import socket
import sys
from pathlib import Path

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("fixture")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool(name="files.read")
def files_read(path: str) -> str:
    """A tool whose name model APIs would refuse."""
    return f"contents of {path}"


@server.tool()
def fail() -> str:
    """Always fails."""
    raise RuntimeError("broken on purpose")


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep, then answer."""
    await anyio.sleep(seconds)
    return "awake"


@server.tool()
async def wait_for_file(path: str) -> str:
    """Answer once the file exists (it is created by another tool of the same turn)."""
    while not Path(path).exists():
        await anyio.sleep(0.01)
    return "seen " + Path(path).read_text()


@server.tool()
async def unlock(ctx: Context) -> str:
    """Add the `secret` tool and tell the client the list changed."""

    def secret() -> str:
        """The secret."""
        return "42"

    server.add_tool(secret)
    await ctx.notify_tools_changed()  # 2026-07-28 connections: subscriptions/listen
    try:
        await ctx.request_context.session.send_tool_list_changed()  # 2025-era connections
    except Exception:
        pass
    return "unlocked"


def serve_http() -> None:
    app = server.streamable_http_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    if sys.argv[1:] == ["http"]:
        serve_http()
    else:
        server.run()
'''


@pytest.fixture
def server_script(tmp_path: Path) -> Path:
    """The fixture server, written for one test (stdio tests start their own process)."""
    path = tmp_path / "fixture_server.py"
    path.write_text(FIXTURE_SERVER)
    return path


def stdio_tools(script: Path, **kwargs: Any) -> MCPTools:
    """MCPTools that start ``script`` with this interpreter and talk over stdio."""
    return MCPTools.stdio(sys.executable, [str(script)], **kwargs)


@pytest.fixture(scope="module")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One HTTP server process for the module (starting Python with the SDK takes a second or two)."""
    script = tmp_path_factory.mktemp("mcp") / "fixture_server.py"
    script.write_text(FIXTURE_SERVER)
    command = [sys.executable, str(script), "http"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)  # noqa: S603 - this interpreter, our script
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().split()[0])
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]  # set by stdout=PIPE


async def test_tools_are_listed_with_the_servers_schema(http_url: str) -> None:
    """Entering starts the server and lists its tools with their names, descriptions and schemas."""
    async with MCPTools.http(http_url) as mcp:
        tools = {t.name: t for t in mcp.tools}
        assert {"echo", "add", "fail", "sleep", "unlock", "files_read"} <= set(tools)
        assert tools["add"].description == "Add two integers."
        assert tools["add"].parameters["required"] == ["a", "b"]
        assert tools["add"].parameters["properties"]["a"]["type"] == "integer"
        assert mcp.name == "fixture"


async def test_a_tool_call_goes_to_the_server_and_returns_its_text(http_url: str) -> None:
    """Calling the agentkit tool runs the server's tool and returns the result's text."""
    async with MCPTools.http(http_url) as mcp:
        tools = {t.name: t for t in mcp.tools}
        assert await tools["add"].call('{"a": 2, "b": 40}') == "42"
        assert await tools["files_read"].call('{"path": "a.txt"}') == "contents of a.txt"


async def test_arguments_are_checked_locally_before_the_server_is_asked(http_url: str) -> None:
    """Arguments that do not match the server's schema fail the same way as for native tools."""
    async with MCPTools.http(http_url) as mcp:
        add = next(t for t in mcp.tools if t.name == "add")
        with pytest.raises(ToolArgumentsError, match="missing required parameter 'b'"):
            await add.call('{"a": 1}')
        with pytest.raises(ToolArgumentsError, match="is not of type 'integer'"):
            await add.call('{"a": "one", "b": 2}')


async def test_a_failed_server_call_becomes_model_retry_with_the_servers_message(http_url: str) -> None:
    """A result the server marks as an error is raised as ModelRetry carrying its text."""
    async with MCPTools.http(http_url) as mcp:
        fail = next(t for t in mcp.tools if t.name == "fail")
        with pytest.raises(ModelRetry, match="fail"):
            await fail.call("{}")


async def test_tool_timeout_applies_to_mcp_calls(http_url: str) -> None:
    """The per-tool timeout of ToolOptions cuts a slow server call short."""
    async with MCPTools.http(http_url, options=ToolOptions(timeout=0.2)) as mcp:
        sleep = next(t for t in mcp.tools if t.name == "sleep")
        with pytest.raises(ToolTimeoutError, match=r"timed out after 0\.2 s"):
            await sleep.call('{"seconds": 5}')
        echo = next(t for t in mcp.tools if t.name == "echo")
        assert await echo.call('{"text": "still connected"}') == "still connected"


async def test_prefix_include_and_customize_shape_the_exposed_tools(http_url: str) -> None:
    """name_prefix, include and customize decide which tools the model sees, and how."""
    seen: list[str] = []

    def customize(made: Any) -> Any:
        seen.append(made.name)
        return made

    async with MCPTools.http(
        http_url, name_prefix="fx.", include=["echo", "files.read"], customize=customize
    ) as mcp:
        assert sorted(t.name for t in mcp.tools) == ["fx_echo", "fx_files_read"]
        assert sorted(seen) == ["fx_echo", "fx_files_read"]
        echo = next(t for t in mcp.tools if t.name == "fx_echo")
        assert await echo.call('{"text": "hi"}') == "hi"


async def test_the_list_is_cached_and_refetched_after_a_change_notification(server_script: Path) -> None:
    """list_tools serves the cache until the server says its tools changed, then fetches once."""
    async with stdio_tools(server_script) as mcp:
        await mcp.list_tools()
        await mcp.list_tools()
        assert mcp.fetches == 1
        unlock = next(t for t in mcp.tools if t.name == "unlock")
        assert await unlock.call("{}") == "unlocked"
        await _until_changed(mcp)
        names = [t.name for t in await mcp.list_tools()]
        assert "secret" in names
        assert mcp.fetches == 2
        await mcp.list_tools()
        assert mcp.fetches == 2


async def test_change_notifications_also_arrive_on_2025_era_connections(server_script: Path) -> None:
    """With the initialize handshake (no subscriptions/listen), list_changed notifications still refresh."""
    async with stdio_tools(server_script, mode="legacy") as mcp:
        unlock = next(t for t in mcp.tools if t.name == "unlock")
        await unlock.call("{}")
        await _until_changed(mcp)
        assert "secret" in [t.name for t in await mcp.list_tools()]


async def test_an_agent_sees_new_tools_on_its_next_run(server_script: Path) -> None:
    """An agent asks the source before each run: a tool added by the server is callable in the next run."""
    model = ScriptedModel([call("unlock"), "unlocked", call("secret"), "the secret is 42"])
    async with stdio_tools(server_script) as mcp:
        agent = Agent(model, tools=[mcp])
        first = await agent.run("unlock it")
        assert "secret" not in [d.name for d in model.requests[0].tools]
        await _until_changed(mcp)
        second = await agent.run("what is the secret?")
    assert first.output == "unlocked"
    assert second.output == "the secret is 42"
    assert "secret" in [d.name for d in model.requests[2].tools]
    assert [m.content for m in second.messages if isinstance(m, ToolMessage)] == ["42"]


async def test_native_and_mcp_tools_run_concurrently_in_one_turn(server_script: Path, tmp_path: Path) -> None:
    """One turn calls an MCP tool that waits for a file and a native tool that writes it: both finish."""
    flag = tmp_path / "flag.txt"

    @tool
    async def write_flag(text: str) -> str:
        """Write the flag file."""
        await anyio.Path(flag).write_text(text)
        return "written"

    parallel = AssistantMessage(
        tool_calls=(
            call("wait_for_file", {"path": str(flag)}),
            call("write_flag", {"text": "hello"}),
            call("add", {"a": 1, "b": 2}),
        )
    )
    model = ScriptedModel([parallel, "done"])
    # A sequential runner would wait forever on the first call: the timeout turns that into a failure.
    async with stdio_tools(server_script, options=ToolOptions(timeout=10)) as mcp:
        agent = Agent(model, tools=[write_flag, mcp])
        with anyio.fail_after(15):
            result = await agent.run("go")
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.content for m in results] == ["seen hello", "written", "3"]
    assert not any(m.is_error for m in results)
    assert {d.name for d in model.requests[0].tools} >= {"write_flag", "wait_for_file", "add"}


async def test_a_failing_mcp_tool_is_fed_back_to_the_model_as_an_error(http_url: str) -> None:
    """In a run, a server-side failure becomes an error tool result and the model carries on."""
    model = ScriptedModel([call("fail"), "it failed"])
    async with MCPTools.http(http_url) as mcp:
        result = await Agent(model, tools=[mcp]).run("try")
    (message,) = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert message.is_error
    assert "fail" in message.content


async def test_approval_rules_apply_to_mcp_tools(http_url: str) -> None:
    """An MCP tool that requires approval pauses the run; a rejection never reaches the server."""
    model = ScriptedModel([call("echo", {"text": "x"}), "rejected, fine"])
    needs_approval = ToolOptions(requires_approval=True)
    async with MCPTools.http(http_url, include=["echo"], options=needs_approval) as mcp:
        agent = Agent(model, tools=[mcp])
        paused = await agent.run("echo x")
        assert paused.paused
        assert paused.state is not None
        assert paused.pending[0].arguments == {"text": "x"}
        done = await agent.resume(paused.state, {paused.pending[0].key: Reject(message="no echo")})
    assert done.output == "rejected, fine"
    (message,) = [m for m in done.messages if isinstance(m, ToolMessage)]
    assert message.is_error
    assert message.content == "no echo"


async def test_http_transport_lists_and_calls_tools(http_url: str) -> None:
    """The streamable HTTP transport reaches a server process on loopback, refresh included."""
    async with MCPTools.http(http_url, headers={"X-Test": "1"}) as mcp:
        tools = {t.name: t for t in mcp.tools}
        assert await tools["echo"].call('{"text": "over http"}') == "over http"
        await tools["unlock"].call("{}")
        await _until_changed(mcp)
        assert "secret" in [t.name for t in await mcp.list_tools()]


async def test_using_tools_after_disconnecting_is_a_clear_error(http_url: str) -> None:
    """A tool of a closed connection fails with a message that says how to connect."""
    async with MCPTools.http(http_url) as mcp:
        echo = next(t for t in mcp.tools if t.name == "echo")
    with pytest.raises(UserError, match="not connected"):
        await echo.call('{"text": "late"}')
    with pytest.raises(UserError, match="not connected"):
        await mcp.list_tools()


async def _until_changed(mcp: MCPTools) -> None:
    """Wait (bounded) for the server's change notification, which travels apart from the call's result."""
    with anyio.fail_after(10):
        while mcp.changes == 0:  # noqa: ASYNC110 - MCPTools offers no event; a bounded poll of a counter
            await anyio.sleep(0.01)
