"""An agent that mixes a native tool with an MCP server's tools in one parallel turn.

The MCP server is ``agentkit mcp serve examples/mcp/unit_tools.py:tools``,
started as a subprocess and spoken to over stdio, exactly as a coding
assistant would. Offline by default: a scripted model asks for all three tools
at once, then answers from their results. ``--live`` asks Kimi-K2 instead
(needs ``MOONSHOT_API_KEY``).

    python examples/mcp/use_mcp_server.py
    python examples/mcp/use_mcp_server.py --live
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from agentkit import Agent, tool
from agentkit.mcp import MCPTools
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.abstract import Model
from agentkit.models.function import ScriptedModel, call

HERE = Path(__file__).resolve().parent
PROMPT = "A 10 km run at 30 °C: how many miles, how hot in °F, and how long at a 5:30/km pace?"


@tool
def pace_time(distance_km: float, minutes_per_km: float) -> str:
    """Time to cover a distance at a steady pace, as h:mm.

    Args:
        distance_km: The distance in kilometres.
        minutes_per_km: The pace in minutes per kilometre (5.5 for 5:30/km).
    """
    total = round(distance_km * minutes_per_km)
    return f"{total // 60}:{total % 60:02d}"


def scripted_model() -> ScriptedModel:
    """The offline "model": three calls in one turn, then an answer built from the results."""
    parallel = AssistantMessage(
        tool_calls=(
            call("units_convert_length", {"value": 10, "from_unit": "km", "to_unit": "mi"}),
            call("units_celsius_to_fahrenheit", {"celsius": 30}),
            call("pace_time", {"distance_km": 10, "minutes_per_km": 5.5}),
        )
    )
    return ScriptedModel([parallel, "10 km is 6.21 miles; 30 °C is 86 °F; at 5:30/km it takes 0:55."])


def live_model() -> Model:
    """Kimi-K2 through Moonshot's API (reads MOONSHOT_API_KEY)."""
    from agentkit.models import KimiModel  # noqa: PLC0415 - only for --live

    return KimiModel()


async def main(live: bool) -> None:
    """Start the MCP server, run the agent once, print the calls and the answer."""
    server = MCPTools.stdio(
        sys.executable,
        ["-m", "agentkit.cli", "mcp", "serve", f"{HERE / 'unit_tools.py'}:tools"],
        name_prefix="units_",
    )
    async with server as units:
        agent = Agent(
            live_model() if live else scripted_model(),
            instructions="Answer with the tools; call independent tools in parallel.",
            tools=[pace_time, units],
        )
        result = await agent.run(PROMPT)
    for message in result.messages:
        if isinstance(message, ToolMessage):
            print(f"  {message.name} -> {message.content}")
    print(result.output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="ask Kimi-K2 (needs MOONSHOT_API_KEY)")
    anyio.run(main, parser.parse_args().live)
