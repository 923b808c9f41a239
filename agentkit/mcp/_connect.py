"""Reaching an MCP server: transports, the server's stderr, and what a failed connection says.

A stdio server that dies while starting (a bad command, a module that does not
import) only shows the client a closed pipe: the SDK reports "Connection
closed", wrapped in task-group exception groups. Here the server's stderr is
kept in a temporary file, and a failed connection becomes one
[`MCPConnectionError`][agentkit.exceptions.MCPConnectionError] naming the server, the reason,
and the last lines the server wrote (secrets it was given in ``env`` redacted).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import IO, Any
from urllib.parse import urlsplit

import httpx2
from mcp import StdioServerParameters
from mcp.client import Transport
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from agentkit._redact import Redactor
from agentkit.exceptions import MCPConnectionError

__all__ = ["HeaderTransport", "StderrCapture", "connection_error", "describe_server", "stdio_transport"]

_TAIL_CHARS = 2000
_TAIL_LINES = 20


class StderrCapture:
    """A temporary file that receives a stdio server's stderr, readable when something goes wrong."""

    def __init__(self) -> None:
        self.file: IO[str] = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 -- closed by close()

    def tail(self, secrets: list[str]) -> str:
        """The last lines the server wrote (at most 20 lines, 2,000 characters), secrets redacted."""
        self.file.flush()
        self.file.seek(0)
        text = self.file.read()
        lines = text.strip().splitlines()[-_TAIL_LINES:]
        tail = "\n".join(lines)[-_TAIL_CHARS:]
        return Redactor(secrets).redact_all(tail.encode()).decode(errors="replace")

    def close(self) -> None:
        """Delete the file."""
        self.file.close()


def stdio_transport(params: StdioServerParameters, errlog: IO[str]) -> Transport:
    """The SDK's stdio transport with the server's stderr sent to ``errlog``."""
    transport: Transport = stdio_client(params, errlog=errlog)  # type: ignore[arg-type]  # a real file, as TextIO
    return transport


def describe_server(server: StdioServerParameters | str | Transport) -> str:
    """A server as error messages name it: its command line, or its URL without credentials or query."""
    if isinstance(server, StdioServerParameters):
        command = " ".join([server.command, *server.args])
        return command if len(command) <= 200 else command[:197] + "..."
    if isinstance(server, str):
        parts = urlsplit(server)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
    if isinstance(server, HeaderTransport):
        return describe_server(server.url)
    return type(server).__name__


def connection_error(label: str, err: BaseException, stderr: str) -> MCPConnectionError:
    """One error for a failed connection: the server, the distinct reasons, and its stderr's tail."""
    reasons = list(dict.fromkeys(f"{type(e).__name__}: {e}" for e in _leaves(err)))
    message = f"MCP server {label!r} could not be connected: {'; '.join(reasons)}"
    if stderr:
        message += f"\nthe server's stderr ends with:\n{stderr}"
    return MCPConnectionError(message, server=label, stderr=stderr)


def _leaves(err: BaseException) -> Iterator[BaseException]:
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            yield from _leaves(inner)
    else:
        yield err


class HeaderTransport:
    """Streamable HTTP with fixed request headers (an httpx client the transport closes with itself)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self._headers = headers
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> Any:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx2.AsyncClient(headers=self._headers))
            streams = await stack.enter_async_context(streamable_http_client(self.url, http_client=http))
            self._stack = stack.pop_all()
        return streams

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(None, None, None)
