"""MCPTools against what real servers send: schema dialects, bad schemas, task-only tools, blobs, errors.

The servers here are the official SDK's low-level ``Server`` (so every schema is sent exactly
as written) connected in-process, and real subprocesses where the transport matters.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp.server import Server, ServerRequestContext

from agentkit import Agent
from agentkit.exceptions import MaxTurnsExceeded, MCPConnectionError, ToolArgumentsError
from agentkit.mcp import MCPTools
from agentkit.models.function import ScriptedModel, call

pytestmark = pytest.mark.anyio

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
DRAFT_04 = "http://json-schema.org/draft-04/schema#"

TOOLS = [
    mcp_types.Tool(
        name="pair",
        description="Takes a [name, count] tuple, as zod-to-json-schema writes it.",
        input_schema={
            "$schema": DRAFT_07,
            "type": "object",
            "properties": {"pair": {"type": "array", "items": [{"type": "string"}, {"type": "number"}]}},
            "required": ["pair"],
        },
    ),
    mcp_types.Tool(
        name="positive",
        description="A draft-04 exclusive minimum.",
        input_schema={
            "$schema": DRAFT_04,
            "type": "object",
            "properties": {"n": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
        },
    ),
    mcp_types.Tool(
        name="broken",
        description="An invalid schema.",
        input_schema={"type": "object", "properties": {"x": {"type": "float"}}},
    ),
    mcp_types.Tool(
        name="research",
        description="Runs only as a task.",
        input_schema={"type": "object"},
        execution=mcp_types.ToolExecution(task_support="required"),
    ),
    mcp_types.Tool(name="readme", description="A text file sent as a blob.", input_schema={"type": "object"}),
    mcp_types.Tool(name="picture", description="A binary blob.", input_schema={"type": "object"}),
]


def _blob(uri: str, mime: str, data: bytes) -> mcp_types.EmbeddedResource:
    contents = mcp_types.BlobResourceContents(uri=uri, mime_type=mime, blob=base64.b64encode(data).decode())
    return mcp_types.EmbeddedResource(type="resource", resource=contents)


async def _call(
    ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
) -> mcp_types.CallToolResult:
    if params.name == "readme":
        text = "# Hallo Zoë".encode()
        content: list[Any] = [_blob("file:///README.md", "text/markdown; charset=utf-8", text)]
    elif params.name == "picture":
        content = [_blob("file:///a.png", "image/png", b"\x89PNG\r\n")]
    else:
        content = [mcp_types.TextContent(type="text", text=f"{params.name} {params.arguments}")]
    return mcp_types.CallToolResult(content=content)


def _server() -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=TOOLS)

    return Server("contact", on_list_tools=list_tools, on_call_tool=_call)


def _in_process(**kwargs: Any) -> MCPTools:
    return MCPTools(_server(), **kwargs)  # type: ignore[arg-type]  # the SDK's Client connects Servers in-process


async def test_draft_07_tuples_and_draft_04_bounds_are_checked_in_their_own_dialect() -> None:
    """A draft-07 tuple and a draft-04 boolean exclusiveMinimum accept what their dialect does, only that."""
    async with _in_process() as mcp:
        tools = {t.name: t for t in mcp.tools}
        assert await tools["pair"].call('{"pair": ["apples", 3]}') == "pair {'pair': ['apples', 3]}"
        with pytest.raises(ToolArgumentsError, match=r"pair\[1\]"):
            await tools["pair"].call('{"pair": ["apples", "three"]}')
        assert await tools["positive"].call('{"n": 1}') == "positive {'n': 1}"
        with pytest.raises(ToolArgumentsError, match="minimum"):
            await tools["positive"].call('{"n": 0}')


async def test_a_bad_schema_or_a_task_only_tool_is_skipped_and_the_rest_load() -> None:
    """A bad schema and a taskSupport "required" tool are not offered, the others are; skipped says why."""
    # execution.taskSupport is a 2025-11-25 field (2026-07-28 connections do not carry it).
    async with _in_process(mode="legacy") as mcp:
        assert sorted(t.name for t in mcp.tools) == ["pair", "picture", "positive", "readme"]
        assert set(mcp.skipped) == {"broken", "research"}
        assert "properties/x/type" in mcp.skipped["broken"]
        assert "task" in mcp.skipped["research"]


async def test_a_text_resource_sent_as_a_blob_reaches_the_model_as_text() -> None:
    """A base64 blob with a text MIME type is decoded; a binary one is named, not inlined."""
    async with _in_process() as mcp:
        tools = {t.name: t for t in mcp.tools}
        assert await tools["readme"].call("{}") == "# Hallo Zoë"
        assert await tools["picture"].call("{}") == "[resource file:///a.png (image/png)]"


async def test_an_error_raised_inside_async_with_leaves_unwrapped() -> None:
    """MaxTurnsExceeded raised by a run inside ``async with MCPTools`` matches ``except MaxTurnsExceeded``."""
    model = ScriptedModel([call("positive", {"n": 1})] * 3)
    caught: MaxTurnsExceeded | None = None
    try:
        async with _in_process() as mcp:
            await Agent(model, tools=[mcp], max_turns=2).run("loop")
    except MaxTurnsExceeded as err:
        caught = err
    assert caught is not None


async def test_an_error_inside_async_with_a_stdio_server_leaves_unwrapped(tmp_path: Path) -> None:
    """Over stdio (a subprocess, the SDK's task groups), the body's own exception comes out as itself."""
    script = tmp_path / "server.py"
    script.write_text(
        "from mcp.server.mcpserver import MCPServer\n"
        "server = MCPServer('s')\n"
        "@server.tool()\n"
        "def ping() -> str:\n"
        "    '''Ping.'''\n"
        "    return 'pong'\n"
        "server.run()\n"
    )
    caught: BaseException | None = None
    try:
        async with MCPTools.stdio(sys.executable, [str(script)]) as mcp:
            assert await mcp.tools[0].call("{}") == "pong"
            raise LookupError("mine")  # noqa: TRY301 -- the body's own error is what is under test
    except BaseException as err:
        caught = err
    assert type(caught) is LookupError


async def test_a_server_dying_at_start_is_a_connection_error_with_its_stderr(tmp_path: Path) -> None:
    """A stdio server exiting at start gives MCPConnectionError with its stderr tail, secrets redacted."""
    script = tmp_path / "dies.py"
    script.write_text(
        "import os, sys\n"
        "sys.stderr.write('loading tools with ' + os.environ['SERVICE_TOKEN'] + '\\n')\n"
        "raise SystemExit('error: cannot import tools.py: NameError: name Pt is not defined')\n"
    )
    with pytest.raises(MCPConnectionError) as caught:
        async with MCPTools.stdio(sys.executable, [str(script)], env={"SERVICE_TOKEN": "tok-0123456789"}):
            pass
    err = caught.value
    assert "cannot import tools.py: NameError" in str(err)
    assert "Connection closed" in str(err)
    assert "tok-0123456789" not in str(err)
    assert "[redacted]" in err.stderr
    assert err.server.endswith("dies.py")
