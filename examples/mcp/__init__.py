"""MCP both ways: serve agentkit tools to coding assistants, and use an MCP server's tools in an agent."""
