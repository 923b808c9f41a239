"""Tool schemas: type hints, Field constraints, docstrings and definition errors -> what the model sees."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from agentkit._run_context import RunContext
from agentkit.exceptions import ToolDefinitionError
from agentkit.models.abstract import ToolDefinition
from agentkit.tool import Tool, tool

EMPTY_OBJECT = {"type": "object", "properties": {}, "additionalProperties": False}


def _props(t: Tool) -> dict[str, Any]:
    properties: dict[str, Any] = t.parameters["properties"]
    return properties


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    """A postal address."""

    city: str
    zip_code: str | None = None


class Person(BaseModel):
    """Someone with an address."""

    name: str
    address: Address


@dataclasses.dataclass
class Point:
    """A point on a plane."""

    x: float
    y: float


class Movie(TypedDict):
    """A movie."""

    title: str
    year: int


class TreeNode(BaseModel):
    """A node of a tree (recursive)."""

    value: int
    children: list[TreeNode] = []


class Opaque:
    """A class pydantic knows nothing about."""


def test_no_parameters_gives_an_empty_object_schema() -> None:
    """A tool without parameters shows the model an empty, closed object schema."""

    @tool
    def ping() -> str:
        """Check the service."""
        return "pong"

    assert ping.parameters == EMPTY_OBJECT
    assert ping.name == "ping"
    assert ping.description == "Check the service."


def test_scalar_types_defaults_and_required() -> None:
    """str/int/float/bool become JSON types; parameters with defaults are optional and show the default."""

    @tool
    def f(s: str, i: int, x: float, b: bool = False, n: int = 3) -> None:
        """Do f."""

    assert f.parameters == {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "x": {"type": "number"},
            "b": {"type": "boolean", "default": False},
            "n": {"type": "integer", "default": 3},
        },
        "required": ["s", "i", "x"],
        "additionalProperties": False,
    }


def test_container_types() -> None:
    """list, dict and tuple map to arrays, objects and prefixItems arrays."""

    @tool
    def f(tags: list[str], counts: dict[str, int], pair: tuple[int, str]) -> None:
        """Do f."""

    assert _props(f) == {
        "tags": {"type": "array", "items": {"type": "string"}},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2,
        },
    }


def test_optional_union_literal_and_enum() -> None:
    """`X | None`, unions, Literal and Enum become anyOf / enum schemas."""

    @tool
    def f(
        maybe: int | None,
        either: int | str,
        mode: Literal["fast", "slow"],
        color: Color = Color.RED,
    ) -> None:
        """Do f."""

    assert _props(f) == {
        "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "color": {"type": "string", "enum": ["red", "blue"], "description": "A colour.", "default": "red"},
    }
    assert f.parameters["required"] == ["maybe", "either", "mode"]


def test_nested_model_is_inlined_without_titles_or_defs() -> None:
    """Nested pydantic models are inlined (no $ref, no $defs, no title keys)."""

    @tool
    def f(person: Person) -> None:
        """Do f."""

    assert f.parameters == {
        "type": "object",
        "properties": {
            "person": {
                "type": "object",
                "description": "Someone with an address.",
                "properties": {
                    "name": {"type": "string"},
                    "address": {
                        "type": "object",
                        "description": "A postal address.",
                        "properties": {
                            "city": {"type": "string"},
                            "zip_code": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                        },
                        "required": ["city"],
                    },
                },
                "required": ["name", "address"],
            }
        },
        "required": ["person"],
        "additionalProperties": False,
    }


def test_dataclass_and_typeddict_parameters() -> None:
    """Dataclasses and TypedDicts become inlined, closed object schemas (they inherit extra="forbid")."""

    @tool
    def f(point: Point, movie: Movie) -> None:
        """Do f."""

    assert _props(f) == {
        "point": {
            "type": "object",
            "description": "A point on a plane.",
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
            "required": ["x", "y"],
            "additionalProperties": False,
        },
        "movie": {
            "type": "object",
            "description": "A movie.",
            "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
            "required": ["title", "year"],
            "additionalProperties": False,
        },
    }


def test_recursive_model_keeps_defs() -> None:
    """A recursive model stays in $defs and is referenced, because it cannot be inlined."""

    @tool
    def f(tree: TreeNode) -> None:
        """Do f."""

    assert f.parameters == {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/TreeNode"}},
        "required": ["tree"],
        "additionalProperties": False,
        "$defs": {
            "TreeNode": {
                "type": "object",
                "description": "A node of a tree (recursive).",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/TreeNode"}, "default": []},
                },
                "required": ["value"],
            }
        },
    }


def test_annotated_field_constraints() -> None:
    """`Annotated[..., Field(...)]` constraints and descriptions appear in the schema."""

    @tool
    def f(
        stops: Annotated[int, Field(ge=0, le=2)],
        code: Annotated[str, Field(min_length=3, max_length=3, pattern="^[A-Z]+$", description="IATA.")],
        ratio: float = Field(0.5, gt=0, lt=1),
    ) -> None:
        """Do f."""

    assert _props(f) == {
        "stops": {"type": "integer", "minimum": 0, "maximum": 2},
        "code": {
            "type": "string",
            "minLength": 3,
            "maxLength": 3,
            "pattern": "^[A-Z]+$",
            "description": "IATA.",
        },
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.5},
    }
    assert f.parameters["required"] == ["stops", "code"]


def test_parameter_names_that_shadow_pydantic_attributes() -> None:
    """Parameters named like BaseModel attributes (json, schema, copy, model_config) are plain properties."""

    @tool
    def f(json: str, schema: str, copy: bool, model_config: int = 0) -> None:
        """Do f."""

    assert list(_props(f)) == ["json", "schema", "copy", "model_config"]


def test_google_docstring() -> None:
    """Google-style Args give parameter descriptions; the description is the text before the sections."""

    @tool
    def search(origin: str, dest: str) -> list[str]:
        """Find flights.

        Cheapest first.

        Args:
            origin: IATA code of the departure airport.
            dest: IATA code of the arrival
                airport.

        Returns:
            Flight numbers.

        """
        return []

    assert search.description == "Find flights.\n\nCheapest first."
    assert _props(search) == {
        "origin": {"type": "string", "description": "IATA code of the departure airport."},
        "dest": {"type": "string", "description": "IATA code of the arrival airport."},
    }


def test_numpy_docstring() -> None:
    """NumPy-style Parameters sections give parameter descriptions."""

    @tool
    def search(origin: str, dest: str) -> list[str]:
        """Find flights.

        Parameters
        ----------
        origin : str
            IATA code of the departure airport.
        dest : str
            IATA code of the arrival airport.

        Returns
        -------
        list of str
            Flight numbers.

        """  # noqa: D416 -- a NumPy-style docstring is what this test is about
        return []

    assert search.description == "Find flights."
    assert _props(search)["origin"] == {
        "type": "string",
        "description": "IATA code of the departure airport.",
    }
    assert _props(search)["dest"] == {"type": "string", "description": "IATA code of the arrival airport."}


def test_sphinx_docstring() -> None:
    """Sphinx-style :param: fields give parameter descriptions, even with a single one."""

    @tool
    def search(origin: str) -> list[str]:
        """Find flights.

        :param origin: IATA code of the departure airport.
        :returns: Flight numbers.
        """
        return []

    assert search.description == "Find flights."
    assert _props(search) == {
        "origin": {"type": "string", "description": "IATA code of the departure airport."}
    }


def test_forced_docstring_format_and_explicit_description() -> None:
    """docstring_format picks the parser; description= replaces the docstring text but keeps param docs."""

    @tool(docstring_format="sphinx", description="Look things up.", name="lookup")
    def f(q: str) -> str:
        """Search.

        :param q: The query.
        """
        return q

    assert f.name == "lookup"
    assert f.description == "Look things up."
    assert _props(f) == {"q": {"type": "string", "description": "The query."}}
    assert f.definition == ToolDefinition(
        name="lookup", description="Look things up.", parameters=f.parameters
    )


def test_field_description_wins_over_docstring() -> None:
    """A Field(description=...) on the parameter wins over the docstring's description."""

    @tool
    def f(a: Annotated[int, Field(description="From Field.")], b: int) -> None:
        """Do f.

        Args:
            a: From the docstring.
            b: Also from the docstring.

        """

    assert _props(f)["a"]["description"] == "From Field."
    assert _props(f)["b"]["description"] == "Also from the docstring."


def test_param_docstring_wins_over_model_docstring() -> None:
    """A parameter's docstring description replaces the nested model's class docstring."""

    @tool
    def f(address: Address) -> None:
        """Do f.

        Args:
            address: Where to deliver.

        """

    assert _props(f)["address"]["description"] == "Where to deliver."


def test_run_context_parameter_is_hidden() -> None:
    """A RunContext parameter (bare or subscripted, any position) is not in the schema and sets takes_ctx."""

    @tool
    def first(ctx: RunContext[str], city: str) -> str:
        """Weather.

        Args:
            ctx: The run.
            city: A city.

        """
        return city

    @tool
    def last(city: str, ctx: RunContext) -> str:  # type: ignore[type-arg]  # the bare form is supported too
        """Weather."""
        return city

    assert first.takes_ctx
    assert last.takes_ctx
    assert list(_props(first)) == ["city"] == list(_props(last))
    assert first.parameters["required"] == ["city"]


def test_tool_attributes_from_options() -> None:
    """timeout, retries and sequential are kept on the tool; defaults are None/None/False."""

    @tool(timeout=2.5, retries=4, sequential=True)
    def slow() -> None:
        """Wait."""

    @tool
    def plain() -> None:
        """Nothing."""

    assert (slow.timeout, slow.retries, slow.sequential, slow.takes_ctx) == (2.5, 4, True, False)
    assert (plain.timeout, plain.retries, plain.sequential) == (None, None, False)
    assert slow.function.__name__ == "slow"


def test_all_signature_problems_are_listed_in_one_error() -> None:
    """Every signature problem is reported at decoration, together, in one ToolDefinitionError."""

    # The untyped `a` and the incomplete docstring (D417) are the point of this test.
    def bad(a, b: Opaque, *args: int, c: int, **kwargs: str) -> None:  # type: ignore[no-untyped-def]  # noqa: D417
        """Do bad.

        Args:
            a: First.
            d: Does not exist.

        """

    with pytest.raises(ToolDefinitionError) as caught:
        tool(bad)
    problems = caught.value.problems
    assert caught.value.tool_name == "bad"
    assert "parameter 'a' has no type annotation" in problems
    assert "*args is not supported: tools take named parameters only" in problems
    assert "**kwargs is not supported: tools take named parameters only" in problems
    assert "docstring documents parameter 'd', which the function does not have" in problems
    assert any(p.startswith("parameter 'b': no JSON schema can be made for Opaque") for p in problems)
    assert len(problems) == 5
    assert "parameter 'a' has no type annotation" in str(caught.value)


def test_two_problems_are_both_listed() -> None:
    """Two independent problems (missing annotation, unschemable type) both appear."""

    def two(x, y: Opaque) -> None:  # type: ignore[no-untyped-def]  # on purpose
        """Two problems."""

    with pytest.raises(ToolDefinitionError) as caught:
        tool(two)
    assert len(caught.value.problems) == 2
    assert "'x'" in caught.value.problems[0]
    assert "'y'" in caught.value.problems[1]


def test_bad_name_and_options_are_definition_errors() -> None:
    """An invalid tool name, a non-positive timeout and negative retries are listed together."""
    with pytest.raises(ToolDefinitionError) as caught:

        @tool(name="1bad name", timeout=0, retries=-1)
        def f() -> None:
            """Do f."""

    assert len(caught.value.problems) == 3


def test_lambda_needs_a_name() -> None:
    """A lambda's name is not a valid tool name, so it must be given one."""
    with pytest.raises(ToolDefinitionError):
        tool(lambda: None)
    assert tool(lambda: None, name="noop").parameters == EMPTY_OBJECT
