"""Tools built from a ready JSON Schema: its dialect, its validity, ECMA patterns, and exact big integers."""

from typing import Any

import anyio
import pytest

from agentkit import Agent, tool
from agentkit.approval import EditArguments
from agentkit.exceptions import ToolArgumentsError, ToolDefinitionError
from agentkit.messages import ToolCall
from agentkit.models.function import ScriptedModel
from agentkit.models.function import call as model_call
from agentkit.tool import Tool

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


async def _echo(arguments: dict[str, Any]) -> str:
    return repr(arguments)


def _tool(parameters: dict[str, Any]) -> Tool:
    return Tool.from_schema(name="t", description="", parameters=parameters, function=_echo)


def _call(made: Tool, arguments: str) -> str:
    return anyio.run(made.call, arguments)


def test_a_draft_07_tuple_is_checked_as_a_tuple() -> None:
    """Draft-07 ``"items": [...]`` (zod-to-json-schema's tuples) checks each position, not a schema error."""
    made = _tool(
        {
            "$schema": DRAFT_07,
            "type": "object",
            "properties": {
                "pair": {"type": "array", "items": [{"type": "string"}, {"type": "number"}], "minItems": 2}
            },
            "required": ["pair"],
        }
    )
    assert _call(made, '{"pair": ["a", 1]}') == "{'pair': ['a', 1]}"
    with pytest.raises(ToolArgumentsError, match=r"pair\[1\]: 'b' is not of type 'number'"):
        _call(made, '{"pair": ["a", "b"]}')


def test_a_draft_04_boolean_exclusive_minimum_excludes_the_bound() -> None:
    """Draft-04's ``"exclusiveMinimum": true`` accepts numbers above ``minimum``, refuses the bound."""
    made = _tool(
        {
            "$schema": DRAFT_04,
            "type": "object",
            "properties": {"n": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
        }
    )
    assert _call(made, '{"n": 0.5}') == "{'n': 0.5}"
    with pytest.raises(ToolArgumentsError, match="less than or equal to the minimum of 0"):
        _call(made, '{"n": 0}')


def test_without_schema_the_dialect_is_2020_12() -> None:
    """A schema naming no dialect is read as 2020-12 (the MCP default): ``prefixItems`` checks positions."""
    made = _tool(
        {"type": "object", "properties": {"p": {"type": "array", "prefixItems": [{"type": "integer"}]}}}
    )
    with pytest.raises(ToolArgumentsError, match=r"p\[0\]: 'x' is not of type 'integer'"):
        _call(made, '{"p": ["x"]}')


@pytest.mark.parametrize(
    ("parameters", "problem"),
    [
        ({"type": "object", "properties": {"x": {"type": "float"}}}, r"at properties/x/type: 'float'"),
        ({"type": "object", "properties": {}, "required": True}, "at required: True is not of type 'array'"),
        ({"type": "object", "properties": {"x": {"minimum": "3"}}}, "at properties/x/minimum"),
        ({"$schema": "http://example.com/my-dialect", "type": "object"}, "unsupported \\$schema"),
    ],
)
def test_an_invalid_schema_is_refused_when_the_tool_is_built(
    parameters: dict[str, Any], problem: str
) -> None:
    """A schema invalid in its dialect (or naming an unknown one) is a ToolDefinitionError at build."""
    with pytest.raises(ToolDefinitionError, match=problem) as caught:
        _tool(parameters)
    assert caught.value.tool_name == "t"


def test_an_ecma_only_pattern_is_kept_for_the_model_and_not_checked_locally() -> None:
    r"""``\p{L}`` (which Python's re cannot compile) builds; other keywords are still checked."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": r"^\p{L}+$", "maxLength": 5},
            "code": {"type": "string", "pattern": "^[A-Z]+$"},
            "tags": {"type": "object", "patternProperties": {r"^\p{Lu}": {"type": "integer"}}},
        },
    }
    made = _tool(schema)
    assert made.parameters["properties"]["name"]["pattern"] == r"^\p{L}+$"
    assert _call(made, '{"name": "Zoë", "tags": {"A": "x"}}') == "{'name': 'Zoë', 'tags': {'A': 'x'}}"
    with pytest.raises(ToolArgumentsError, match="is too long"):
        _call(made, '{"name": "abcdefg"}')
    with pytest.raises(ToolArgumentsError, match="does not match"):
        _call(made, '{"code": "abc"}')


def test_integers_beyond_64_bits_reach_the_tool_exactly() -> None:
    """A 30-digit integer argument arrives as the same int (orjson alone would turn it into a float)."""
    seen: list[int] = []

    @tool
    def store(n: int) -> str:
        """Store a number."""
        seen.append(n)
        return "ok"

    big = 123456789012345678901234567890
    assert anyio.run(store.call, f'{{"n": {big}}}') == "ok"
    assert seen == [big]
    made = _tool({"type": "object", "properties": {"n": {"type": "integer"}}})
    assert _call(made, f'{{"n": -{big}}}') == f"{{'n': -{big}}}"
    assert made.validate_arguments('{"n": 18446744073709551616}') == {"n": 2**64}


def test_nan_is_still_not_json_on_the_exact_path() -> None:
    """Arguments that take the exact-integer path still refuse NaN, which JSON does not have."""
    made = _tool({"type": "object"})
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        _call(made, '{"n": 12345678901234567890, "m": NaN}')


def test_a_big_integer_survives_a_run_and_an_approvers_edit() -> None:
    """In a run, a scripted call and an approver's edit both carry integers beyond 64 bits exactly."""
    received: list[int] = []
    asked: list[dict[str, Any]] = []

    @tool(requires_approval=True)
    def transfer(amount: int) -> str:
        """Transfer an amount."""
        received.append(amount)
        return "done"

    async def approver(call: ToolCall, arguments: dict[str, Any]) -> EditArguments:
        asked.append(arguments)
        return EditArguments(arguments={"amount": arguments["amount"] + 1})

    model = ScriptedModel([model_call("transfer", {"amount": 2**70}), "ok"])
    result = anyio.run(Agent(model, tools=[transfer], approve=approver).run, "pay")
    assert result.output == "ok"
    assert asked == [{"amount": 2**70}]
    assert received == [2**70 + 1]
