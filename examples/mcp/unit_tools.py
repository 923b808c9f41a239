"""Tools to serve over MCP: ``agentkit mcp serve examples/mcp/unit_tools.py:tools``.

Add the command to Cline, Roo Code, Cursor or Claude Desktop (see docs/mcp.md)
and their model can call these tools. The conversion factors are exact
definitions (SI and international units), not sample data.
"""

from __future__ import annotations

from typing import Literal

from agentkit import tool
from agentkit.exceptions import ModelRetry

Length = Literal["m", "km", "mi", "ft", "in"]
_METRES: dict[str, float] = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "in": 0.0254}


@tool
def convert_length(value: float, from_unit: Length, to_unit: Length) -> float:
    """Convert a length between units.

    Args:
        value: The length to convert.
        from_unit: The unit of ``value``.
        to_unit: The unit wanted.
    """
    return round(value * _METRES[from_unit] / _METRES[to_unit], 6)


@tool
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit.

    Args:
        celsius: The temperature in degrees Celsius (at least -273.15).
    """
    if celsius < -273.15:
        raise ModelRetry("a temperature cannot be below absolute zero (-273.15 °C)")
    return round(celsius * 9 / 5 + 32, 2)


tools = [convert_length, celsius_to_fahrenheit]
