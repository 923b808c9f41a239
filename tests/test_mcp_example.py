"""The MCP example runs offline: agentkit serves unit tools over stdio and an agent uses them."""

from __future__ import annotations

import pytest

from examples.mcp import use_mcp_server

pytestmark = pytest.mark.anyio


async def test_example_mixes_native_and_served_tools(capsys: pytest.CaptureFixture[str]) -> None:
    """The scripted run calls both MCP tools and the native tool, and prints their real results."""
    await use_mcp_server.main(live=False)
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "  units_convert_length -> 6.213712",
        "  units_celsius_to_fahrenheit -> 86.0",
        "  pace_time -> 0:55",
    ]
    assert out[3].startswith("10 km is 6.21 miles")
