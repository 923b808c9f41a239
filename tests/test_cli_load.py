"""The CLI's loader (``file.py:name``): modules registered before they run, import failures clear."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli import app
from agentkit.cli.mcp import load_target
from agentkit.exceptions import MCPConnectionError, UserError
from agentkit.mcp import MCPTools

pytestmark = pytest.mark.anyio

# `from __future__ import annotations` leaves every annotation a string; pydantic resolves the
# model's own field types through sys.modules[Point.__module__], which the loader must fill.
POSTPONED = '''
from __future__ import annotations

import dataclasses

from pydantic import BaseModel

from agentkit import tool


class Route(BaseModel):
    """A route: its stops are declared below it (a forward reference pydantic resolves later)."""

    stops: list[Stop]


class Stop(BaseModel):
    """A stop."""

    x: int
    y: int


@dataclasses.dataclass
class Scale:
    """A factor (stdlib dataclasses look their module up in sys.modules too)."""

    factor: int = 1


@tool
def length(route: Route, scale: Scale) -> int:
    """The route's Manhattan length, scaled."""
    hops = zip(route.stops, route.stops[1:])
    return sum(abs(a.x - b.x) + abs(a.y - b.y) for a, b in hops) * scale.factor


tools = [length]
'''

BROKEN = """
from agentkit import tool

VALUE = 1 / 0
"""


async def test_a_postponed_annotations_file_with_a_pydantic_parameter_loads(tmp_path: Path) -> None:
    """``file.py:tools`` with ``from __future__ import annotations`` and a model parameter loads and runs."""
    path = tmp_path / "geometry.py"
    path.write_text(POSTPONED)
    (length,) = load_target(f"{path}:tools")
    assert length.parameters["properties"]["route"]["properties"]["stops"]["items"]["required"] == ["x", "y"]
    route = '{"stops": [{"x": 0, "y": 0}, {"x": 3, "y": -4}]}'
    assert await length.call(f'{{"route": {route}, "scale": {{"factor": 2}}}}') == "14"


def test_a_file_that_fails_to_import_is_one_clear_line(tmp_path: Path) -> None:
    """`agentkit mcp serve` on a file raising at import exits 2 (as `run` does) naming the error and line."""
    path = tmp_path / "broken_tools.py"
    path.write_text(BROKEN)
    done = CliRunner().invoke(app, ["mcp", "serve", f"{path}:tools"])
    assert done.exit_code == 2
    assert "failed to import: ZeroDivisionError: division by zero (line 4 of" in done.output
    assert "Traceback" not in done.output
    with pytest.raises(UserError, match="failed to import"):
        load_target(f"{path}:tools")
    assert "_agentkit_cli_broken_tools" not in sys.modules


async def test_an_mcp_client_sees_why_the_served_file_did_not_load(tmp_path: Path) -> None:
    """MCPTools starting `agentkit mcp serve` on a broken file gets MCPConnectionError with the reason."""
    path = tmp_path / "broken_tools.py"
    path.write_text(BROKEN)
    command = [str(Path(sys.executable).with_name("agentkit")), ["mcp", "serve", f"{path}:tools"]]
    with pytest.raises(MCPConnectionError, match="failed to import: ZeroDivisionError"):
        async with MCPTools.stdio(command[0], command[1]):  # type: ignore[arg-type]  # a str and a list
            pass
