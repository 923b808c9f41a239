"""Structured output: a validated output_type instance, with invalid output sent back for repair."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentkit import Agent
from agentkit.exceptions import OutputValidationError
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio


class City(BaseModel):
    """A structured answer."""

    name: str
    population: int


async def test_final_result_tool_gives_a_typed_output() -> None:
    """Calling final_result with valid arguments ends the run with the model instance."""
    model = ScriptedModel([calls(("final_result", {"name": "Oslo", "population": 709000}))])
    result = await Agent(model, output_type=City).run("biggest city in Norway?")
    assert result.output == City(name="Oslo", population=709000)
    assert model.requests[0].tools[-1].name == "final_result"
    assert model.requests[0].tools[-1].parameters["required"] == ["name", "population"]


async def test_invalid_output_goes_back_for_repair() -> None:
    """An invalid final_result call is answered with the errors and the model tries again."""
    model = ScriptedModel(
        [
            calls(("final_result", {"name": "Oslo", "population": "many"})),
            calls(("final_result", {"name": "Oslo", "population": 709000})),
        ]
    )
    result = await Agent(model, output_type=City).run("city?")
    assert result.output.population == 709000
    error = next(m for m in result.messages if isinstance(m, ToolMessage) and m.is_error)
    assert "population" in error.content


async def test_json_text_is_accepted_as_output() -> None:
    """A plain-text reply holding valid JSON (e.g. after a prefill) is accepted."""
    model = ScriptedModel(['```json\n{"name": "Bergen", "population": 291000}\n```'])
    result = await Agent(model, output_type=City).run("city?")
    assert result.output == City(name="Bergen", population=291000)


async def test_non_object_output_types_are_wrapped() -> None:
    """A list output type is offered as an object with one 'response' field."""
    model = ScriptedModel([calls(("final_result", {"response": [1, 2, 3]}))])
    result = await Agent(model, output_type=list[int]).run("numbers?")
    assert result.output == [1, 2, 3]


async def test_output_retries_are_bounded() -> None:
    """Output failing validation more often than output_retries raises OutputValidationError."""
    model = ScriptedModel(["not json", "still not", "nope"])
    with pytest.raises(OutputValidationError) as info:
        await Agent(model, output_type=City, output_retries=1).run("city?")
    assert len(model.requests) == 2
    assert info.value.messages
