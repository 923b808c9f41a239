"""Tool.call: argument parsing, validation, coercion, execution, timeouts and result serialisation."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import threading
from typing import Annotated, Any

import anyio
import pytest
from jsonschema import Draft202012Validator
from pydantic import AfterValidator, BaseModel, Field

from agentkit._precheck import compile_precheck
from agentkit._run_context import RunContext
from agentkit.exceptions import ModelRetry, StopRun, ToolArgumentsError, ToolTimeoutError, UserError
from agentkit.tool import Tool, Toolset, tool

pytestmark = pytest.mark.anyio


class Cabin(enum.Enum):
    """A cabin class."""

    ECONOMY = "economy"
    BUSINESS = "business"


class Passenger(BaseModel):
    """A traveller."""

    name: str
    age: int


@dataclasses.dataclass
class Seat:
    """A seat on a plane."""

    row: int
    letter: str


def _flight_tool(ran: list[dict[str, Any]]) -> Tool:
    @tool
    async def search_flights(
        origin: str, dest: str, max_stops: Annotated[int, Field(ge=0, le=2)] = 1
    ) -> list[str]:
        """Find flights.

        Args:
            origin: Departure airport.
            dest: Arrival airport.
            max_stops: Most stops allowed.

        """
        ran.append({"origin": origin, "dest": dest, "max_stops": max_stops})
        return [f"{origin}-{dest}"]

    return search_flights


async def test_async_tool_runs_and_returns_json() -> None:
    """An async tool is awaited with the parsed arguments (defaults filled in) and its list result is JSON."""
    ran: list[dict[str, Any]] = []
    result = await _flight_tool(ran).call('{"origin": "KIX", "dest": "HND"}')
    assert result == '["KIX-HND"]'
    assert ran == [{"origin": "KIX", "dest": "HND", "max_stops": 1}]


async def test_schema_violations_are_all_reported_and_the_function_does_not_run() -> None:
    """Constraint, missing and unexpected-parameter errors come in one ToolArgumentsError, before running."""
    ran: list[dict[str, Any]] = []
    with pytest.raises(ToolArgumentsError) as caught:
        await _flight_tool(ran).call('{"dest": "HND", "max_stops": 5, "foo": 1}')
    message = caught.value.message
    assert "max_stops: 5 is greater than the maximum of 2" in message
    assert "missing required parameter 'origin'" in message
    assert "unexpected parameter 'foo'" in message
    assert message.count("origin") == 1
    assert ran == []


async def test_wrong_type_names_the_parameter() -> None:
    """A wrongly typed value (no lax coercion of "2" to 2) is rejected by the schema, naming the parameter."""
    ran: list[dict[str, Any]] = []
    with pytest.raises(ToolArgumentsError, match=r"max_stops: '2' is not of type 'integer'"):
        await _flight_tool(ran).call('{"origin": "KIX", "dest": "HND", "max_stops": "2"}')
    assert ran == []


async def test_nested_errors_name_the_path() -> None:
    """Errors inside nested objects and arrays name the path to the value."""

    @tool
    def book(passengers: list[Passenger]) -> int:
        """Book seats."""
        return len(passengers)

    with pytest.raises(ToolArgumentsError) as caught:
        await book.call('{"passengers": [{"name": "A", "age": 3}, {"name": "B", "age": "x"}, {"age": 1}]}')
    assert "passengers[1].age: 'x' is not of type 'integer'" in caught.value.message
    assert "passengers[2]: missing required field 'name'" in caught.value.message


@pytest.mark.parametrize("arguments", ["", "   ", "\n"])
async def test_empty_arguments_mean_no_arguments(arguments: str) -> None:
    """An empty or whitespace-only argument string is treated as `{}`."""

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert await ping.call(arguments) == "pong"


async def test_invalid_json_is_an_arguments_error() -> None:
    """Arguments that are not JSON give a short reason and ask for a JSON object."""
    with pytest.raises(ToolArgumentsError) as caught:
        await _flight_tool([]).call('{"origin": "KIX",')
    assert caught.value.message.startswith("arguments are not valid JSON: ")
    assert caught.value.message.endswith("; send a JSON object matching the schema")


async def test_double_encoded_json_is_an_arguments_error() -> None:
    """A JSON string that itself holds JSON is rejected with a hint to send the object itself."""
    with pytest.raises(ToolArgumentsError, match=r"JSON string containing JSON.*send the JSON object itself"):
        await _flight_tool([]).call('"{\\"origin\\": \\"KIX\\", \\"dest\\": \\"HND\\"}"')


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        ("[1, 2]", "an array"),
        ("3", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
        ('"hi"', "a string"),
    ],
)
async def test_non_object_arguments_are_rejected(arguments: str, kind: str) -> None:
    """Any JSON value other than an object is an arguments error naming what was sent."""
    with pytest.raises(ToolArgumentsError, match=f"arguments must be a JSON object, not {kind}"):
        await _flight_tool([]).call(arguments)


async def test_arguments_are_coerced_into_python_objects() -> None:
    """Nested models, enums, dataclasses, tuples and dates arrive as real Python objects."""
    seen: dict[str, Any] = {}

    @tool
    def book(
        passenger: Passenger, cabin: Cabin, seat: Seat, span: tuple[int, int], day: datetime.date
    ) -> str:
        """Book a seat."""
        seen.update(passenger=passenger, cabin=cabin, seat=seat, span=span, day=day)
        return "ok"

    arguments = (
        '{"passenger": {"name": "Ann", "age": 30}, "cabin": "business", "seat": {"row": 3, "letter": "C"},'
        ' "span": [1, 2], "day": "2026-05-01"}'
    )
    assert await book.call(arguments) == "ok"
    assert seen == {
        "passenger": Passenger(name="Ann", age=30),
        "cabin": Cabin.BUSINESS,
        "seat": Seat(row=3, letter="C"),
        "span": (1, 2),
        "day": datetime.date(2026, 5, 1),
    }


async def test_pydantic_validation_errors_become_arguments_errors() -> None:
    """A failure only pydantic detects (a custom validator) is reported as a ToolArgumentsError."""

    def even(value: int) -> int:
        if value % 2:
            raise ValueError("must be even")
        return value

    ran: list[int] = []

    @tool
    def half(n: Annotated[int, AfterValidator(even)]) -> int:
        """Halve an even number."""
        ran.append(n)
        return n // 2

    with pytest.raises(ToolArgumentsError, match="n: Value error, must be even"):
        await half.call('{"n": 3}')
    assert ran == []
    assert await half.call('{"n": 4}') == "2"


async def test_sync_tools_run_in_a_worker_thread() -> None:
    """A sync tool runs in a worker thread, not on the event loop's thread."""
    threads: list[int] = []

    @tool
    def where() -> None:
        """Record the thread."""
        threads.append(threading.get_ident())

    await where.call("{}")
    assert threads
    assert threads[0] != threading.get_ident()


async def test_async_tool_timeout() -> None:
    """An async tool running past its timeout raises ToolTimeoutError naming the tool and the limit."""

    @tool(timeout=0.05)
    async def slow() -> str:
        """Sleep."""
        await anyio.sleep(5)
        return "done"

    with anyio.fail_after(2):
        with pytest.raises(ToolTimeoutError, match=r"tool 'slow' timed out after 0\.05 s"):
            await slow.call("")


async def test_sync_tool_timeout_abandons_the_thread() -> None:
    """A sync tool running past its timeout raises ToolTimeoutError without waiting for the thread."""
    release = threading.Event()

    @tool(timeout=0.05)
    def blocked() -> str:
        """Block until released."""
        release.wait(5)
        return "done"

    try:
        with anyio.fail_after(2):
            with pytest.raises(ToolTimeoutError, match=r"tool 'blocked' timed out after 0\.05 s"):
                await blocked.call("")
    finally:
        release.set()


async def test_timeout_not_reached() -> None:
    """A tool that finishes within its timeout returns normally."""

    @tool(timeout=5)
    async def quick() -> int:
        """Answer."""
        return 42

    assert await quick.call("") == "42"


async def test_tool_raising_timeout_error_is_not_a_tool_timeout() -> None:
    """A TimeoutError raised by the function itself propagates as is, not as ToolTimeoutError."""

    @tool(timeout=5)
    async def upstream() -> None:
        """Call a slow upstream."""
        raise TimeoutError("upstream timed out")

    with pytest.raises(TimeoutError, match="upstream timed out") as caught:
        await upstream.call("")
    assert not isinstance(caught.value, ToolTimeoutError)


@pytest.mark.parametrize("error", [ValueError("boom"), ModelRetry("try a city"), StopRun("final")])
async def test_exceptions_propagate_unchanged(error: Exception) -> None:
    """Exceptions from the function, including ModelRetry and StopRun, propagate as the same object."""

    @tool
    async def fail() -> None:
        """Fail."""
        raise error

    with pytest.raises(type(error)) as caught:
        await fail.call("")
    assert caught.value is error


async def test_run_context_is_injected() -> None:
    """The RunContext given to call() is passed to the ctx parameter, wherever it is declared."""

    @tool
    def greet(name: str, ctx: RunContext[str]) -> str:
        """Greet."""
        return f"{ctx.deps} greets {name} in run {ctx.run_id}"

    ctx = RunContext(deps="alice", run_id="r1")
    assert await greet.call('{"name": "bob"}', ctx) == "alice greets bob in run r1"


async def test_missing_run_context_is_a_user_error() -> None:
    """Calling a tool that takes a RunContext without one is a developer mistake (UserError)."""

    @tool
    async def whoami(ctx: RunContext[str]) -> str:
        """Say who."""
        return ctx.deps

    with pytest.raises(UserError, match="takes a RunContext"):
        await whoami.call("")


async def test_positional_only_parameters() -> None:
    """Positional-only parameters (and a positional-only ctx) are passed positionally."""

    @tool
    def sub(ctx: RunContext[int], a: int, b: int, /, *, scale: int = 1) -> int:
        """Subtract."""
        return (a - b) * scale * ctx.deps

    assert await sub.call('{"a": 5, "b": 2, "scale": 2}', RunContext(deps=10, run_id="r")) == "60"


@dataclasses.dataclass
class Report:
    """A small report."""

    title: str
    when: datetime.date


class Opaque:
    """An object pydantic cannot encode."""

    def __str__(self) -> str:
        return "<opaque>"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text", "plain text"),
        ("", ""),
        (None, "null"),
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        ([1, "x"], '[1,"x"]'),
        ((1, 2), "[1,2]"),
        (Cabin.ECONOMY, '"economy"'),
        (Passenger(name="Ann", age=30), '{"name":"Ann","age":30}'),
        (Report(title="T", when=datetime.date(2026, 1, 2)), '{"title":"T","when":"2026-01-02"}'),
        ({"k": "日本"}, '{"k":"日本"}'),
        (Opaque(), '"<opaque>"'),
    ],
)
async def test_return_values_are_serialised(value: Any, text: str) -> None:
    """Strings are sent as is, None as "null", the rest as compact JSON (unknown objects via str())."""

    @tool
    def give() -> Any:
        """Give the value."""
        return value

    assert await give.call("") == text


def test_toolset_wraps_functions_and_looks_up_by_name() -> None:
    """A Toolset wraps plain functions, keeps order and answers get/len/iter/in."""

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    flights = _flight_tool([])
    toolset = Toolset([flights, add])
    assert len(toolset) == 2
    assert [t.name for t in toolset] == ["search_flights", "add"]
    assert "add" in toolset
    assert "nope" not in toolset
    assert toolset.get("search_flights") is flights
    assert toolset.get("nope") is None
    add_tool = toolset.get("add")
    assert add_tool is not None
    assert toolset.definitions == (flights.definition, add_tool.definition)
    assert toolset.definitions is toolset.definitions


def test_toolset_rejects_duplicate_names() -> None:
    """Two tools with the same name are a UserError naming the duplicate."""

    @tool(name="search")
    def one() -> None:
        """One."""

    @tool(name="search")
    def two() -> None:
        """Two."""

    with pytest.raises(UserError, match="'search'"):
        Toolset([one, two])


class Node(BaseModel):
    """A recursive tree node."""

    value: int
    children: list[Node] = []


PRECHECK_CASES: list[tuple[dict[str, Any], list[Any]]] = [
    (
        {
            "type": "object",
            "properties": {
                "s": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[A-Z]+$"},
                "n": {"type": "integer", "minimum": 0, "exclusiveMaximum": 5},
                "x": {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
                "e": {"enum": ["a", 1, None]},
                "c": {"const": True},
                "o": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "l": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
                "t": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
                "m": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
            "required": ["s"],
            "additionalProperties": False,
        },
        [
            {"s": "AB"},
            {
                "s": "AB",
                "n": 4,
                "x": 1.5,
                "e": "a",
                "c": True,
                "o": None,
                "l": [1],
                "t": [1, "a"],
                "m": {"k": True},
            },
            {},
            {"s": "ab"},
            {"s": "A"},
            {"s": "ABCD"},
            {"s": "AB", "n": 5},
            {"s": "AB", "n": -1},
            {"s": "AB", "n": 2.0},
            {"s": "AB", "n": True},
            {"s": "AB", "x": 0},
            {"s": "AB", "x": 2},
            {"s": "AB", "e": 1.0},
            {"s": "AB", "e": True},
            {"s": "AB", "e": "b"},
            {"s": "AB", "c": 1},
            {"s": "AB", "o": 3},
            {"s": "AB", "l": []},
            {"s": "AB", "l": [1, 2, 3]},
            {"s": "AB", "l": ["1"]},
            {"s": "AB", "t": ["a", 1]},
            {"s": "AB", "t": [1, "a", None]},
            {"s": "AB", "m": {"k": 1}},
            {"s": "AB", "extra": 1},
            {"s": 5},
        ],
    ),
]


@pytest.mark.parametrize(("schema", "instances"), PRECHECK_CASES)
def test_precheck_never_accepts_what_jsonschema_rejects(schema: dict[str, Any], instances: list[Any]) -> None:
    """The fast path says "valid" only when jsonschema agrees, and does accept plainly valid input."""
    precheck = compile_precheck(schema)
    assert precheck is not None
    validator = Draft202012Validator(schema)
    for instance in instances:
        if precheck(instance):
            assert validator.is_valid(instance), instance
    assert precheck(instances[0])
    assert precheck(instances[1])


def test_precheck_declines_schemas_it_does_not_cover() -> None:
    """Schemas with keywords outside the fast subset ($ref, oneOf, multipleOf...) get no precheck."""
    assert compile_precheck({"$ref": "#/$defs/A"}) is None
    assert compile_precheck({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}) is None
    assert compile_precheck({"type": "integer", "multipleOf": 2}) is None


async def test_recursive_arguments_are_validated_and_coerced() -> None:
    """A recursive model (validated by jsonschema through $defs) arrives as nested model objects."""

    @tool
    def total(tree: Node) -> int:
        """Sum a tree."""

        def walk(node: Node) -> int:
            return node.value + sum(walk(c) for c in node.children)

        return walk(tree)

    assert (
        await total.call('{"tree": {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}}')
        == "6"
    )
    with pytest.raises(ToolArgumentsError, match=r"tree\.children\[0\]\.value: 'x' is not of type 'integer'"):
        await total.call('{"tree": {"value": 1, "children": [{"value": "x"}]}}')


async def test_integral_float_for_an_integer_parameter() -> None:
    """5.0 is a JSON-schema integer, so it passes validation and arrives as the int 5."""
    seen: list[Any] = []

    @tool
    def count(n: int) -> None:
        """Count."""
        seen.append(n)

    await count.call('{"n": 5.0}')
    assert seen == [5]
    assert type(seen[0]) is int
