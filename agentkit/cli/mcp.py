"""``agentkit mcp serve module:target``: serve agentkit tools, or an agent, to MCP clients.

The target is ``package.module:name`` or ``path/to/file.py:name``, naming a
[`Tool`][agentkit.Tool], a [`Toolset`][agentkit.tool.Toolset], a list or tuple of
tools, an [`Agent`][agentkit.Agent] (served as one tool, ``ask_<name>``; add
``--agent-tools`` to serve its tools too), or a function without arguments
returning one of those. Stdio is the default transport (what Cline, Roo Code,
Cursor and Claude Desktop start); ``--http`` serves streamable HTTP instead and
prints the endpoint URL on stderr. Stdout belongs to the protocol: nothing else
is ever written there.

Tools that ``requires_approval`` run only once the client's user approved the call
(MCP elicitation), or are refused when the client cannot ask; ``--allow-unapproved
NAME`` lets the operator run one such tool without asking. Over HTTP, ``--token``
(or ``AGENTKIT_MCP_TOKEN``) requires ``Authorization: Bearer <token>`` on every
request; a host that is not loopback is refused without one.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Annotated, Any

import anyio
import typer

from agentkit.agent import Agent
from agentkit.cli._echo import echo
from agentkit.cli._errors import EXIT_USAGE, CliError, reported
from agentkit.cli._load import import_object
from agentkit.exceptions import UserError
from agentkit.tool import Tool, Toolset

__all__ = ["app", "load_target", "serve"]

app = typer.Typer(
    help="Model Context Protocol: serve agentkit tools to coding assistants.", no_args_is_help=True
)

_HINT = "name it as package.module:name or path/to/file.py:name"


def load_target(spec: str) -> Any:
    """Import the object ``spec`` (``module:name`` or ``file.py:name``) names; call it if it is a factory.

    Raises:
        UserError: the spec is malformed, names nothing importable, or its file fails to import.
    """
    try:
        target = import_object(spec, default_name=None)
    except CliError as err:  # the loader every command shares; this function's contract is UserError
        raise UserError(f"{err.message}: {_HINT}" if err.hint else err.message) from None
    if inspect.isfunction(target):  # a factory
        target = target()
    return target


def _server_for(target: Any, *, name: str | None, agent_tools: bool, allow: list[str]) -> Any:
    from agentkit.mcp.server import mcp_server  # noqa: PLC0415 - needs the optional `mcp` extra

    if isinstance(target, Agent):
        return mcp_server(
            agent=target, agent_tools=agent_tools, name=name or target.name, allow_unapproved=allow
        )
    if isinstance(target, Tool):
        return mcp_server(tools=[target], name=name or target.name, allow_unapproved=allow)
    if isinstance(target, Toolset | list | tuple):
        return mcp_server(tools=list(target), name=name or "agentkit", allow_unapproved=allow)
    raise UserError(
        f"cannot serve a {type(target).__name__}: name a Tool, a Toolset, a list of tools or an Agent"
    )


@app.command()
def serve(
    target: Annotated[str, typer.Argument(help="module:name or file.py:name of the tools or agent.")],
    *,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="HTTP: the address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP: the port (0 picks a free one).")] = 8000,
    path: Annotated[str, typer.Option(help="HTTP: the endpoint path.")] = "/mcp",
    name: Annotated[str | None, typer.Option(help="The server name MCP clients show.")] = None,
    agent_tools: Annotated[
        bool, typer.Option("--agent-tools", help="With an agent: serve its tools too.")
    ] = False,
    allow_unapproved: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-unapproved",
            help="Let this requires_approval tool run without asking the client's user (repeatable).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="AGENTKIT_MCP_TOKEN",
            help="HTTP: require 'Authorization: Bearer TOKEN' (needed to serve a non-loopback host).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Serve tools (or an agent as one tool) over MCP: stdio by default, --http for streamable HTTP."""
    with reported(debug=debug):
        try:
            server = _server_for(
                load_target(target), name=name, agent_tools=agent_tools, allow=list(allow_unapproved or ())
            )
        except (UserError, ImportError) as err:  # a target that cannot be served: a usage problem (2)
            raise CliError(str(err)) from err
    from agentkit.mcp.server import serve_http, serve_stdio  # noqa: PLC0415 - needs the `mcp` extra

    if not http:
        anyio.run(serve_stdio, server)
        return

    def announce(url: str) -> None:
        echo(f"agentkit MCP server listening on {url}", err=True)

    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how an HTTP server is stopped
            anyio.run(
                lambda: serve_http(server, host=host, port=port, path=path, token=token, on_ready=announce)
            )
    except UserError as err:  # e.g. a non-loopback host without a token: a usage problem (2)
        echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
