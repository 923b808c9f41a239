"""MCPTools against ``@modelcontextprotocol/server-everything`` (npm), over stdio and streamable HTTP.

The reference server is TypeScript: its schemas come from zod (draft-07, with ``$schema``),
it sends a text file as a base64 blob, and it has a tool that runs only as a task.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from agentkit import Agent
from agentkit.exceptions import ModelRetry, ToolArgumentsError
from agentkit.mcp import MCPTools
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel, call
from tests.conformance._counterparts import node, npm_script

pytestmark = pytest.mark.anyio

PACKAGE = "@modelcontextprotocol/server-everything"
READ_TIMEOUT_S = 120.0  # a loaded 2-core CI machine starts node slowly; a bound, not a measurement


def _entry() -> Path:
    return npm_script(PACKAGE, "dist/index.js")


@pytest.fixture(params=["stdio", "http"])
async def everything(request: pytest.FixtureRequest, http_url: str) -> AsyncIterator[MCPTools]:
    """The reference server, connected over stdio (a child process) or streamable HTTP (loopback)."""
    if request.param == "stdio":
        mcp = MCPTools.stdio(node(), [str(_entry()), "stdio"], read_timeout_s=READ_TIMEOUT_S)
    else:
        mcp = MCPTools.http(http_url, read_timeout_s=READ_TIMEOUT_S)
    async with mcp:
        yield mcp


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """server-everything's streamable HTTP transport on a free loopback port, for the module."""
    entry = _entry()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PORT": str(port)}
    process = subprocess.Popen(  # noqa: S603 - node from PATH running the installed package
        [node(), str(entry), "streamableHttp"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # it announces the port once it listens
            if "listening on port" in line:
                break
        else:
            pytest.fail(f"server-everything exited before listening (code {process.wait()})")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()  # type: ignore[union-attr]  # set by stderr=PIPE


async def test_tools_load_with_their_draft_07_schemas(everything: MCPTools) -> None:
    """Every tool loads with zod's draft-07 schema kept as sent; only the task-only tool is left out."""
    tools = {t.name: t for t in everything.tools}
    assert {"echo", "get-sum", "get-resource-reference"} <= set(tools)
    assert tools["get-sum"].parameters["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "simulate-research-query" not in tools
    if everything.skipped:  # 2025-11-25 connections announce taskSupport; 2026 ones do not list such tools
        assert list(everything.skipped) == ["simulate-research-query"]


async def test_calls_return_the_servers_text(everything: MCPTools) -> None:
    """The echo and get-sum tools answer agentkit's calls; arguments are checked against draft-07 first."""
    tools = {t.name: t for t in everything.tools}
    assert await tools["echo"].call('{"message": "hi there"}') == "Echo: hi there"
    assert "42" in await tools["get-sum"].call('{"a": 40, "b": 2}')
    with pytest.raises(ToolArgumentsError, match="'forty' is not of type 'number'"):
        await tools["get-sum"].call('{"a": "forty", "b": 2}')


async def test_a_text_resource_sent_as_a_blob_is_decoded(everything: MCPTools) -> None:
    """The server's text/plain blob resource reaches the model as its text, not as a placeholder."""
    reference = next(t for t in everything.tools if t.name == "get-resource-reference")
    text = await reference.call('{"resourceType": "Blob", "resourceId": 2}')
    assert "Resource 2: This is a base64 blob created at" in text


async def test_a_server_side_error_is_model_retry(everything: MCPTools) -> None:
    """A call the server refuses (a resource id it rejects) becomes ModelRetry with the server's words."""
    reference = next(t for t in everything.tools if t.name == "get-resource-reference")
    with pytest.raises(ModelRetry, match="resourceId"):
        await reference.call('{"resourceType": "Text", "resourceId": -1}')


async def test_an_agent_run_calls_the_server_and_finishes(everything: MCPTools) -> None:
    """A scripted three-turn run calls two of the server's tools and ends with the model's answer."""
    model = ScriptedModel([call("echo", {"message": "ping"}), call("get-sum", {"a": 1, "b": 2}), "done"])
    with anyio.fail_after(300):
        result = await Agent(model, tools=[everything]).run("use the server")
    assert result.output == "done"
    results = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert results[0] == "Echo: ping"
    assert "3" in results[1]
