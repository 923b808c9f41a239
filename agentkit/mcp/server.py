"""Serve agentkit tools, or a whole agent as one tool, to MCP clients (stdio and streamable HTTP).

Coding assistants (Cline, Roo Code, Cursor, Claude Desktop) start ``agentkit mcp
serve module:target`` and call the tools over MCP. Each call goes through the
same runner as a call from an agentkit agent: arguments are checked against the
schema the client was shown, and failures (bad arguments, a raised exception, a
timeout, ``ModelRetry``) come back as an error result whose text says what went
wrong, never as a crashed server. A tool that ``requires_approval`` runs only once
the client's user approved the call (MCP elicitation, see
[`agentkit.mcp._approval`][]), or when the operator allowed it to run unapproved.

>>> from agentkit import tool
>>> @tool
... def add(a: int, b: int) -> int:
...     '''Add two numbers.'''
...     return a + b
>>> server = mcp_server(tools=[add], name="calculator")
>>> server.name
'calculator'
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import mcp_types
import orjson
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.stdio import stdio_server

from agentkit._log import get_logger
from agentkit._run_context import RunContext
from agentkit._tool_runner import run_tool_calls
from agentkit.agent import Agent
from agentkit.events import Event
from agentkit.exceptions import ModelRetry, RunError, UserError
from agentkit.mcp._approval import ServedApproval, client_decider, serving
from agentkit.messages import ToolCall
from agentkit.tool import Tool, Toolset, serialize_result

__all__ = ["agent_tool", "call_tool", "mcp_server", "serve_http", "serve_stdio"]

_log = get_logger("agentkit.mcp")


def agent_tool(agent: Agent[Any], *, name: str | None = None, description: str | None = None) -> Tool:
    """A tool that runs ``agent`` on a prompt and returns its final output.

    Args:
        agent: the agent to run; each call is one run (no memory between calls unless the
            agent has one and the caller passes a session).
        name: the tool's name; defaults to ``ask_<agent name>``.
        description: what the tool is for; defaults to a sentence naming the agent.

    The run is an ordinary `Agent.run`: an approver given to the agent (``Agent(approve=...)``)
    decides its calls and those of the agents it uses as tools. Calls left waiting pause the
    run; served by `mcp_server`, the MCP client's user is then asked about each one through
    elicitation (calls inside an agent used as a tool named ``"<agent>: <tool>"``) and the run
    resumes with the answers, as `Agent.resume` does. A client that cannot be asked mid-call
    gets an error result naming the waiting calls, none of which ran; so does a run that fails
    (a limit, a model error), with the reason.
    """

    async def run_agent(arguments: dict[str, Any]) -> str:
        try:
            result = await agent.run(arguments["prompt"])
            decide = client_decider()
            while result.paused and result.state is not None and decide is not None:
                decisions = {p.key: await decide(p) for p in result.pending}
                result = await agent.resume(result.state, decisions)
        except RunError as err:
            raise ModelRetry(
                f"the {agent.name!r} agent could not finish: {type(err).__name__}: {err}"
            ) from None
        if result.paused:
            waiting = ", ".join(
                sorted({f"{p.agent}: {p.call.name}" if p.agent else p.call.name for p in result.pending})
            )
            raise ModelRetry(
                f"the {agent.name!r} agent stopped: its tool calls ({waiting}) need approval, which "
                "this MCP client cannot be asked for during a call; nothing of them ran."
            )
        return serialize_result(result.output)

    return Tool.from_schema(
        name=name or f"ask_{agent.name}",
        description=description or f"Ask the {agent.name!r} agent; it works on the request and answers.",
        parameters={
            "type": "object",
            "properties": {"prompt": {"type": "string", "description": "The request, in plain words."}},
            "required": ["prompt"],
        },
        function=run_agent,
    )


def mcp_server(
    *,
    tools: Iterable[Tool | Callable[..., Any]] = (),
    agent: Agent[Any] | None = None,
    agent_tools: bool = False,
    name: str = "agentkit",
    instructions: str | None = None,
    allow_unapproved: Iterable[str] = (),
) -> Server[Any]:
    """Build an MCP server (the official SDK's low-level ``Server``) exposing agentkit tools.

    Args:
        tools: the tools to expose, each under its own name and schema.
        agent: also expose this agent as one tool (see `agent_tool`).
        agent_tools: also expose the agent's own fixed tools.
        name: the server's name, shown by MCP clients.
        instructions: text MCP clients may show their model about the server.
        allow_unapproved: names of ``requires_approval`` tools the operator lets run
            without asking the client's user (by default each call is asked about through
            MCP elicitation, or refused when the client cannot ask).

    Raises:
        UserError: nothing to expose, two tools share a name, or ``allow_unapproved``
            names a tool that is not served or needs no approval.
    """
    exposed: list[Tool | Callable[..., Any]] = list(tools)
    if agent is not None:
        exposed.append(agent_tool(agent))
        if agent_tools:
            exposed.extend(agent.toolset)
    toolset = Toolset(exposed)
    if not len(toolset):
        raise UserError("nothing to serve: give tools=, agent=, or both")
    gate = ServedApproval(allowed=_allowed(toolset, allow_unapproved))
    listing = mcp_types.ListToolsResult(tools=[_describe(t) for t in toolset])

    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return listing

    async def on_call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
        found = toolset.get(params.name)
        verdict = None if found is None else await gate.check(ctx, found, params)
        if verdict is not None:
            return verdict
        with serving(ctx):
            return await call_tool(toolset, params.name, params.arguments)

    server = Server(
        name,
        instructions=instructions,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        get_tool_input_schema=lambda tool_name: _schema_of(toolset, tool_name),
    )
    # Seals the approval round trip's request state (integrity, expiry, bound to the request).
    server.middleware.append(RequestStateBoundary(RequestStateSecurity.ephemeral(), default_audience=name))
    return server


def _allowed(toolset: Toolset, names: Iterable[str]) -> frozenset[str]:
    allowed = frozenset(names)
    for name in sorted(allowed):
        found = toolset.get(name)
        if found is None:
            raise UserError(f"--allow-unapproved {name}: no served tool has that name")
        if not found.requires_approval:
            raise UserError(f"--allow-unapproved {name}: that tool needs no approval")
    return allowed


def _describe(tool: Tool) -> mcp_types.Tool:
    return mcp_types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters)


def _schema_of(toolset: Toolset, name: str) -> dict[str, Any] | None:
    found = toolset.get(name)
    return None if found is None else found.parameters


async def call_tool(
    toolset: Toolset, name: str, arguments: dict[str, Any] | None
) -> mcp_types.CallToolResult:
    """Run one call through agentkit's tool runner and shape the outcome as an MCP result.

    The text is exactly what an agentkit agent's model would receive, errors included.
    This runs the call as it is: approval is the server's job (`mcp_server` asks the
    client's user before calling this for a tool that ``requires_approval``).
    """
    call = ToolCall(
        id=f"mcp-{uuid.uuid4().hex[:12]}", name=name, arguments=orjson.dumps(arguments or {}).decode()
    )
    ctx: RunContext[Any] = RunContext(deps=None, run_id=call.id)
    (outcome,) = await run_tool_calls(
        [(call.id, call)], toolset, ctx, emit=_ignore, limiter=anyio.CapacityLimiter(1), failures={}
    )
    message = outcome.message
    if outcome.failed:
        _log.info("mcp_call_failed", tool=name, error=message.content[:200])
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=message.content)], is_error=outcome.failed
    )


def _ignore(event: Event) -> None:
    """Events of a served call go nowhere (the MCP client shows its own)."""


async def serve_stdio(server: Server[Any]) -> None:
    """Serve ``server`` on this process's stdin/stdout until the client closes them."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(
    server: Server[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    token: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/path`` until cancelled.

    ``port=0`` picks a free port; ``on_ready`` receives the endpoint URL once it listens.
    On a loopback host, requests whose ``Host``/``Origin`` is not loopback are refused
    (the SDK's DNS-rebinding protection). With ``token``, every request must carry
    ``Authorization: Bearer <token>`` (else 401).

    Raises:
        UserError: ``host`` is not a loopback address and no ``token`` is given: anyone
            who can reach the port could run the tools.
    """
    if not token and not _is_loopback(host):
        raise UserError(
            f"refusing to serve MCP on {host} without a token: anyone who can reach it could run "
            "the tools; pass --token (or set AGENTKIT_MCP_TOKEN), or serve on 127.0.0.1"
        )
    app: Any = server.streamable_http_app(streamable_http_path=path, host=host)
    if token:
        app = _bearer_only(app, token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before uvicorn starts: connections made from now on queue until it accepts them.
    sock.listen(128)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    if on_ready is not None:
        on_ready(f"http://{shown_host}:{bound_port}{path}")
    http = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    try:
        await http.serve([sock])
    finally:
        sock.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def _bearer_only(app: Any, token: str) -> Any:
    """Wrap an ASGI app: HTTP requests without ``Authorization: Bearer <token>`` get 401."""
    expected = token.encode()

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not _carries(scope, expected):
            headers = [(b"www-authenticate", b'Bearer realm="agentkit"'), (b"content-type", b"text/plain")]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": b"401: a bearer token is required\n"})
            return
        await app(scope, receive, send)

    return guarded


def _carries(scope: dict[str, Any], expected: bytes) -> bool:
    given = next((v for k, v in scope.get("headers", ()) if k.lower() == b"authorization"), b"")
    scheme, _, value = given.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), expected)
