"""Shared builders for eval tests: a small weather agent and a model function that plays it."""

from __future__ import annotations

import re
from typing import Any

import anyio
import anyio.lowlevel

from agentkit import Agent, tool
from agentkit.evals import Case, Contains, Dataset, ToolCalled
from agentkit.exceptions import ModelResponseError
from agentkit.messages import AssistantMessage, ToolMessage, UserMessage
from agentkit.models.abstract import ModelRequest, ModelResponse
from agentkit.models.function import FunctionModel, call
from agentkit.usage import Usage

CITIES = ("Oslo", "Rome", "Lima", "Kyiv", "Pune", "Bern")


@tool
async def weather(city: str) -> str:
    """Today's weather.

    Args:
        city: City name.
    """
    return f"{city}: sunny, 21 C"


def _prompt(request: ModelRequest) -> str:
    return next(m.content for m in request.messages if isinstance(m, UserMessage))


class WeatherModel(FunctionModel):
    """Plays the weather agent's model: asks for the city's weather, then answers from the result.

    ``fail`` names prompts' words that make the model fail; ``wrong`` words make it answer badly.
    Each answer costs ``cost_per_call`` dollars. ``calls`` counts model calls; ``in_flight_max`` the
    most runs inside a model call at once. With ``gate=n`` the first calls wait until n of them
    are inside at once (so a test proves n runs overlap without relying on timing).
    """

    def __init__(
        self,
        *,
        fail: tuple[str, ...] = (),
        wrong: tuple[str, ...] = (),
        gate: int = 0,
        cost_per_call: float = 0.001,
        model_name: str = "weather-model",
    ) -> None:
        self.fail, self.wrong, self.gate, self.cost = fail, wrong, gate, cost_per_call
        self._open: anyio.Event | None = None
        self.calls = 0
        self.in_flight = 0
        self.in_flight_max = 0
        super().__init__(self._answer, model_name=model_name)

    async def _answer(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        self.in_flight += 1
        self.in_flight_max = max(self.in_flight_max, self.in_flight)
        try:
            if self.gate:
                self._open = self._open or anyio.Event()
                if self.in_flight >= self.gate:
                    self._open.set()
                await self._open.wait()
            await anyio.lowlevel.checkpoint()  # let the others in while this one is "generating"
        finally:
            self.in_flight -= 1
        prompt = _prompt(request)
        if any(word in prompt for word in self.fail):
            raise ModelResponseError("the model server answered garbage")
        results = [m for m in request.messages if isinstance(m, ToolMessage)]
        if not results:
            found = re.search(r"in (\w+)", prompt)
            message = AssistantMessage(tool_calls=(call("weather", {"city": found[1] if found else "?"}),))
        elif any(word in prompt for word in self.wrong):
            message = AssistantMessage(content="I could not find out.")
        else:
            message = AssistantMessage(content=f"The weather: {results[-1].content}.")
        response = self._to_response(request, message)
        return ModelResponse(
            message=response.message,
            finish_reason=response.finish_reason,
            usage=Usage(input_tokens=100, output_tokens=20, requests=1),
            model_name=self.model_name,
            cost_usd=self.cost,
        )


def weather_agent(model: Any) -> Agent[str]:
    """The agent under test."""
    return Agent(model, instructions="Answer with the weather.", tools=[weather], name="weather")


def weather_dataset(cities: tuple[str, ...] = CITIES) -> Dataset:
    """One case per city: the answer names the city, and weather was called for it."""
    return Dataset(
        name="weather",
        cases=[
            Case(
                name=city.lower(),
                prompt=f"What is the weather in {city}?",
                expected_output=city,
                checks=[ToolCalled(tool="weather", arguments={"city": city})],
            )
            for city in cities
        ],
        evaluators=[Contains()],
    )
