# ruff: noqa: D205, D212, D415, D417, E501, UP042 -- docstrings, enums and long case rows in the shapes other suites test
"""Schema and docstring cases that other frameworks' suites check, re-expressed on ``@tool``.

The cases were learnt from openai-agents' function_schema tests, pydantic-ai's tool schema tests
and LangChain's convert_to_openai_tool tests (their shapes, not their code): docstrings in each
style and in the shapes people write them, descriptions from ``Annotated`` and ``Field``, methods,
enums, literals, constraints and containers. Each case names the schema parts it pins and one
call through ``Tool.call``. Where agentkit deliberately differs (a parameter without a type is an
error, not guessed from the docstring), the case pins the difference.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio
import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from agentkit import tool
from agentkit.exceptions import ToolArgumentsError, ToolDefinitionError


@dataclass(frozen=True)
class Case:
    """One function, what its schema must contain, and one call with its answer."""

    fn: Callable[..., Any]
    description: str
    properties: dict[str, dict[str, Any]]
    required: list[str]
    call: str = "{}"
    answer: str = ""
    bad_call: str | None = None
    bad_answer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def no_arguments() -> str:
    """Takes nothing."""
    return "ok"


def google_opening_with_args(a: int, b: int = 5) -> int:
    """
    Args:
        a: The first argument
        b: The second argument

    Returns:
        The sum of a and b
    """
    return a + b


def google_text_after_blank_opening(a: int) -> int:
    """
    This function doubles a.

    Args:
        a: The number.
    """
    return 2 * a


def google_header_glued_to_summary(a: int) -> int:
    """Negate a number.

    Args:
        a: The number to negate.
    """
    return -a


def google_with_types_and_continuation(a: int, b: str | None = None) -> str:
    """Join a number and a word.

    Args:
        a (int): The number, which is described
            over two lines.
        b (str, optional): The word. Defaults to None.

    Returns:
        str: The joined text.
    """
    return f"{a}{b or ''}"


def google_arguments_header(a: int) -> int:
    """Echo a number.

    Arguments:
        a: The number.
    """
    return a


def numpy_style(a: int, b: str) -> str:
    """Repeat a word.

    Parameters
    ----------
    a : int
        How many times.
    b : str
        The word.

    Returns:
    -------
    str
    """
    return b * a


def sphinx_style(a: int, b: str) -> str:
    """Repeat a word.

    :param a: How many times.
    :param b: The word.
    :return: The repeated word.
    """
    return b * a


def annotated_strings(a: Annotated[int, "First number to add"], b: Annotated[int, "Second number"]) -> int:
    """Add two numbers."""
    return a + b


def docstring_over_annotated_string(
    a: Annotated[int, "From Annotated"], b: Annotated[int, "Only here"]
) -> int:
    """Add two numbers.

    Args:
        a: From the docstring.
    """
    return a + b


def field_defaults_and_bounds(
    my_number: int = Field(..., gt=10, le=100),
    factor: float = Field(default=5.0, ge=0.0),
    name: str = Field(default="hello"),
) -> str:
    """Scale a number."""
    return f"{name} {my_number * factor}"


def annotated_field_string_bounds(
    name: Annotated[str, Field(min_length=3, max_length=20, pattern=r"^[A-Za-z]+$")],
) -> str:
    """Greet someone."""
    return f"Hello, {name}!"


def field_description_wins(count: Annotated[int, Field(description="From Field")]) -> int:
    """Count.

    Args:
        count: From the docstring.
    """
    return count


class Colour(str, enum.Enum):
    """A colour."""

    RED = "red"
    BLUE = "blue"


def enum_and_literals(colour: Colour, size: Literal["s", "m"], level: Literal[1, 2] = 1) -> str:
    """Describe a shirt."""
    return f"{colour.value}-{size}-{level}"


class Foo(TypedDict):
    """A typed dict."""

    a: int
    b: str


class Inner(BaseModel):
    """An inner model."""

    a: int
    b: str


class Outer(BaseModel):
    """A model holding another model and a typed dict."""

    inner: Inner
    foo: Foo


def nested_models(model: Outer) -> str:
    """Flatten a nested model."""
    return f"{model.inner.a},{model.inner.b},{model.foo['a']},{model.foo['b']}"


def containers(m: dict[str, int], t: tuple[int, str], s: set[int]) -> str:
    """Count things."""
    return f"{sum(m.values())} {t[1]} {sorted(s)}"


class Calculator:
    """Methods as tools."""

    def add(self, a: int, b: int = 5) -> int:
        """Add with an instance."""
        return a + b

    @classmethod
    def twice(cls, a: int) -> int:
        """Double with the class."""
        return 2 * a

    @staticmethod
    def negate(a: int) -> int:
        """Negate, static."""
        return -a


CASES = {
    "no arguments": Case(no_arguments, "Takes nothing.", {}, [], answer="ok"),
    "google opening with Args": Case(
        google_opening_with_args,
        "",
        {
            "a": {"type": "integer", "description": "The first argument"},
            "b": {"type": "integer", "default": 5, "description": "The second argument"},
        },
        ["a"],
        call='{"a": 3}',
        answer="8",
        bad_call='{"a": "x"}',
        bad_answer="is not of type 'integer'",
    ),
    "google text after a blank opening line": Case(
        google_text_after_blank_opening,
        "This function doubles a.",
        {"a": {"type": "integer", "description": "The number."}},
        ["a"],
        call='{"a": 4}',
        answer="8",
    ),
    "google header glued to the summary": Case(
        google_header_glued_to_summary,
        "Negate a number.",
        {"a": {"type": "integer", "description": "The number to negate."}},
        ["a"],
        call='{"a": 4}',
        answer="-4",
    ),
    "google with types and continuation lines": Case(
        google_with_types_and_continuation,
        "Join a number and a word.",
        {
            "a": {"type": "integer", "description": "The number, which is described over two lines."},
            "b": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "The word. Defaults to None.",
            },
        },
        ["a"],
        call='{"a": 1, "b": "x"}',
        answer="1x",
    ),
    "google Arguments header": Case(
        google_arguments_header,
        "Echo a number.",
        {"a": {"type": "integer", "description": "The number."}},
        ["a"],
        call='{"a": 2}',
        answer="2",
    ),
    "numpy": Case(
        numpy_style,
        "Repeat a word.",
        {
            "a": {"type": "integer", "description": "How many times."},
            "b": {"type": "string", "description": "The word."},
        },
        ["a", "b"],
        call='{"a": 2, "b": "ha"}',
        answer="haha",
    ),
    "sphinx": Case(
        sphinx_style,
        "Repeat a word.",
        {
            "a": {"type": "integer", "description": "How many times."},
            "b": {"type": "string", "description": "The word."},
        },
        ["a", "b"],
        call='{"a": 3, "b": "o"}',
        answer="ooo",
    ),
    "Annotated strings describe": Case(
        annotated_strings,
        "Add two numbers.",
        {
            "a": {"type": "integer", "description": "First number to add"},
            "b": {"type": "integer", "description": "Second number"},
        },
        ["a", "b"],
        call='{"a": 1, "b": 2}',
        answer="3",
    ),
    "docstring wins over an Annotated string": Case(
        docstring_over_annotated_string,
        "Add two numbers.",
        {
            "a": {"type": "integer", "description": "From the docstring."},
            "b": {"type": "integer", "description": "Only here"},
        },
        ["a", "b"],
        call='{"a": 1, "b": 1}',
        answer="2",
    ),
    "Field defaults and bounds": Case(
        field_defaults_and_bounds,
        "Scale a number.",
        {
            "my_number": {"type": "integer", "exclusiveMinimum": 10, "maximum": 100},
            "factor": {"type": "number", "minimum": 0.0, "default": 5.0},
            "name": {"type": "string", "default": "hello"},
        },
        ["my_number"],
        call='{"my_number": 20}',
        answer="hello 100.0",
        bad_call='{"my_number": 10}',
        bad_answer="less than or equal to the minimum of 10",
    ),
    "Annotated Field string bounds": Case(
        annotated_field_string_bounds,
        "Greet someone.",
        {"name": {"type": "string", "minLength": 3, "maxLength": 20, "pattern": "^[A-Za-z]+$"}},
        ["name"],
        call='{"name": "Alice"}',
        answer="Hello, Alice!",
        bad_call='{"name": "Alice123"}',
        bad_answer="does not match",
    ),
    "Field description wins over the docstring": Case(
        field_description_wins,
        "Count.",
        {"count": {"type": "integer", "description": "From Field"}},
        ["count"],
        call='{"count": 7}',
        answer="7",
    ),
    "enum and literals": Case(
        enum_and_literals,
        "Describe a shirt.",
        {
            "colour": {"type": "string", "enum": ["red", "blue"], "description": "A colour."},
            "size": {"type": "string", "enum": ["s", "m"]},
            "level": {"type": "integer", "enum": [1, 2], "default": 1},
        },
        ["colour", "size"],
        call='{"colour": "blue", "size": "m"}',
        answer="blue-m-1",
        bad_call='{"colour": "green", "size": "m"}',
        bad_answer="'green' is not one of ['red', 'blue']",
    ),
    "nested model with a typed dict": Case(
        nested_models,
        "Flatten a nested model.",
        {},
        ["model"],
        call='{"model": {"inner": {"a": 1, "b": "x"}, "foo": {"a": 2, "b": "y"}}}',
        answer="1,x,2,y",
        bad_call='{"model": {"inner": {"a": 1}, "foo": {"a": 2, "b": "y"}}}',
        bad_answer="model.inner: missing required field 'b'",
    ),
    "dict, tuple and set": Case(
        containers,
        "Count things.",
        {
            "m": {"type": "object", "additionalProperties": {"type": "integer"}},
            "t": {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
            "s": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        },
        ["m", "t", "s"],
        call='{"m": {"x": 1, "y": 2}, "t": [1, "z"], "s": [3, 1]}',
        answer="3 z [1, 3]",
        bad_call='{"m": {}, "t": [1, 2], "s": []}',
        bad_answer="t[1]: 2 is not of type 'string'",
    ),
    "instance method": Case(
        Calculator().add,
        "Add with an instance.",
        {"a": {"type": "integer"}, "b": {"type": "integer", "default": 5}},
        ["a"],
        call='{"a": 1}',
        answer="6",
    ),
    "classmethod": Case(
        Calculator.twice, "Double with the class.", {"a": {"type": "integer"}}, ["a"], '{"a": 4}', "8"
    ),
    "staticmethod": Case(
        Calculator.negate, "Negate, static.", {"a": {"type": "integer"}}, ["a"], '{"a": 4}', "-4"
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_peer_case(case: Case) -> None:
    """The case's description, schema properties, required list and calls come out as the peers expect."""
    made = tool(case.fn)
    assert made.description == case.description
    properties = made.parameters["properties"]
    for name, expected in case.properties.items():
        assert properties[name] == expected, name
    assert made.parameters.get("required", []) == case.required
    assert anyio.run(made.call, case.call) == case.answer
    if case.bad_call is not None:
        with pytest.raises(ToolArgumentsError) as caught:
            anyio.run(made.call, case.bad_call)
        assert case.bad_answer in caught.value.message


def test_a_parameter_without_a_type_is_refused_not_guessed_from_the_docstring() -> None:
    """LangChain reads ``a (int)`` from the docstring; agentkit asks for the annotation, naming the parameter."""

    def untyped(a, b: int) -> int:  # type: ignore[no-untyped-def]
        """Sum.

        Args:
            a (int): The first.
            b (int): The second.
        """
        return int(a) + b

    with pytest.raises(ToolDefinitionError, match="parameter 'a' has no type annotation"):
        tool(untyped)


def test_variadic_parameters_are_refused() -> None:
    """openai-agents maps ``*args``/``**kwargs`` to fields; agentkit refuses them, listing both at once."""

    def variadic(x: int, *numbers: float, **options: Any) -> int:
        """Variadic."""
        return x

    with pytest.raises(ToolDefinitionError) as caught:
        tool(variadic)
    assert caught.value.problems == (
        "*numbers is not supported: tools take named parameters only",
        "**options is not supported: tools take named parameters only",
    )
