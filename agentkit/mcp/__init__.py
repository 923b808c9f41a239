"""MCP both ways: use MCP servers' tools in agents, and serve agentkit tools to MCP clients.

Needs the ``mcp`` extra: ``pip install "agentkit[mcp]"``.

- `MCPTools`: one MCP server's tools (stdio or streamable HTTP), usable in
  ``Agent(tools=[...])`` next to native tools; cached, refreshed on change notifications.
- `mcp_server`, `serve_stdio`, `serve_http`: expose tools, or a whole
  agent as one tool (`agent_tool`), to Cline, Roo Code, Cursor, Claude Desktop...;
  the ``agentkit mcp serve module:target`` command wraps them.
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401 - only to give a clear message when the extra is missing
except ImportError as err:  # pragma: no cover - depends on the installation
    raise ImportError('agentkit.mcp needs the official MCP SDK: pip install "agentkit[mcp]"') from err

from agentkit.mcp.client import MCPTools, ToolOptions, result_text
from agentkit.mcp.server import agent_tool, call_tool, mcp_server, serve_http, serve_stdio

__all__ = [
    "MCPTools",
    "ToolOptions",
    "agent_tool",
    "call_tool",
    "mcp_server",
    "result_text",
    "serve_http",
    "serve_stdio",
]
