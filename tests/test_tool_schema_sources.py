"""Where a schema comes from: docstrings opening with a section, nested forward references, partials."""

import functools
from typing import Optional

import anyio
import pytest
from pydantic import BaseModel

from agentkit import tool
from agentkit.exceptions import ToolDefinitionError


class Pt(BaseModel):
    """A point."""

    x: int
    y: int


def test_a_google_docstring_that_opens_with_args_gives_the_parameters_their_descriptions() -> None:
    """A docstring whose first line is ``Args:`` has no description text and keeps every parameter's."""

    @tool
    def move(dx: int, dy: int) -> str:
        """
        Args:
            dx: Steps to the right.
            dy: Steps up.
        """  # noqa: D205, D212 -- the shape under test
        return f"{dx},{dy}"

    assert move.description == ""
    assert move.parameters["properties"]["dx"]["description"] == "Steps to the right."
    assert move.parameters["properties"]["dy"]["description"] == "Steps up."


def test_a_quoted_name_nested_in_an_annotation_is_resolved_in_the_functions_module() -> None:
    """``Optional["Pt"]`` (a forward reference inside a generic) becomes Pt's schema, and calls get a Pt."""

    def where(p: Optional["Pt"] = None) -> str:
        """Say where the point is."""
        return "nowhere" if p is None else f"{type(p).__name__}({p.x}, {p.y})"

    made = tool(where)
    branches = made.parameters["properties"]["p"]["anyOf"]
    assert branches[0]["properties"] == {"x": {"type": "integer"}, "y": {"type": "integer"}}
    assert branches[1] == {"type": "null"}
    assert anyio.run(made.call, '{"p": {"x": 1, "y": 2}}') == "Pt(1, 2)"


def test_an_unknown_nested_quoted_name_is_a_definition_error() -> None:
    """A forward reference to nothing is reported when the tool is declared, naming the missing name."""

    def lost(p: list["Nowhere"]) -> str:  # type: ignore[name-defined]  # noqa: F821 -- the error under test
        """Lost."""
        return ""

    with pytest.raises(ToolDefinitionError, match="Nowhere"):
        tool(lost)


def _total(a: int, b: int, scale: int = 1) -> int:
    """Add two numbers and scale the sum.

    Args:
        a: The first number.
        b: The second number.
        scale: What the sum is multiplied by.
    """
    return (a + b) * scale


def test_a_partial_is_described_by_the_wrapped_function_without_its_bound_parameters() -> None:
    """A partial tool takes the wrapped docstring; bound parameters leave the schema and stay bound."""
    doubled_from_ten = tool(functools.partial(_total, 10, scale=2), name="doubled_from_ten")
    assert doubled_from_ten.description == "Add two numbers and scale the sum."
    assert doubled_from_ten.parameters["properties"] == {
        "b": {"type": "integer", "description": "The second number."}
    }
    assert doubled_from_ten.parameters["required"] == ["b"]
    assert anyio.run(doubled_from_ten.call, '{"b": 5}') == "30"
    assert tool(functools.partial(_total, scale=3)).name == "_total"
